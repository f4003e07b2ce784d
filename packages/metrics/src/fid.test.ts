import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@duel/core';
import { fid, frechetDistance, traceSqrtProduct } from './fid';
import { featureMatrix } from './linalg';

function gaussianFeatures(n: number, d: number, seed: number, shift = 0, scale = 1): Float64Array {
  const next = mulberry32(seed);
  const out = new Float64Array(n * d);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const t = 2 * Math.PI * next();
    out[i] = shift + scale * r * Math.cos(t);
    if (i + 1 < out.length) out[i + 1] = shift + scale * r * Math.sin(t);
  }
  return out;
}

describe('frechetDistance', () => {
  it('has the closed form for diagonal covariances', () => {
    // FID = |mu1-mu2|^2 + sum (sqrt a_i - sqrt b_i)^2
    const d = 3;
    const a = [1, 4, 9];
    const b = [4, 1, 0.25];
    const diag = (v: number[]): Float64Array => {
      const m = new Float64Array(d * d);
      v.forEach((x, i) => (m[i * d + i] = x));
      return m;
    };
    const got = frechetDistance(
      { d, mean: new Float64Array([0, 0, 0]), covariance: diag(a) },
      { d, mean: new Float64Array([1, 2, 2]), covariance: diag(b) },
    );
    const want = 9 + a.reduce((s, x, i) => s + (Math.sqrt(x) - Math.sqrt(b[i]!)) ** 2, 0);
    expect(got).toBeCloseTo(want, 12);
  });

  it('is invariant to a common rotation (non-diagonal case)', () => {
    // S1 = R diag(a) R^T, S2 = R diag(b) R^T for a 2D rotation R.
    const c = Math.cos(0.7);
    const s = Math.sin(0.7);
    const rot = (x: number, y: number): Float64Array =>
      new Float64Array([c * c * x + s * s * y, c * s * (x - y), c * s * (x - y), s * s * x + c * c * y]);
    expect(traceSqrtProduct(rot(2, 3), rot(8, 12), 2)).toBeCloseTo(Math.sqrt(16) + Math.sqrt(36), 12);
  });

  it('is zero for identical sets and grows with a mean shift', () => {
    const n = 400;
    const d = 16;
    const x = featureMatrix(gaussianFeatures(n, d, 1), n, d);
    expect(Math.abs(fid(x, x))).toBeLessThan(1e-9);
    const y = featureMatrix(gaussianFeatures(n, d, 2), n, d);
    const z = featureMatrix(gaussianFeatures(n, d, 3, 1), n, d);
    const near = fid(x, y);
    const far = fid(x, z);
    expect(near).toBeGreaterThan(0);
    expect(far).toBeGreaterThan(near + d * 0.8); // shift of 1 per dimension adds ~d
  });

  it('stays finite and non-negative when N < D (singular covariances)', () => {
    const n = 20;
    const d = 50;
    const x = featureMatrix(gaussianFeatures(n, d, 4), n, d);
    const y = featureMatrix(gaussianFeatures(n, d, 5), n, d);
    const v = fid(x, y);
    expect(Number.isFinite(v)).toBe(true);
    expect(v).toBeGreaterThan(0);
    expect(Math.abs(fid(x, x))).toBeLessThan(1e-9);
  });
});
