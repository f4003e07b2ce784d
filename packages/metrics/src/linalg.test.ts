import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@duel/core';
import { featureMatrix, meanAndCovariance, symmetricEigen } from './linalg';

function randomSymmetric(n: number, seed: number): Float64Array {
  const next = mulberry32(seed);
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = next() * 2 - 1;
  return a;
}

describe('symmetricEigen', () => {
  it.each([1, 2, 5, 40, 97])('diagonalises a random symmetric %i x %i matrix', (n) => {
    const a = randomSymmetric(n, n);
    const { values, vectors } = symmetricEigen(a, n);
    const v = vectors!;
    let worst = 0;
    for (let i = 0; i < n; i++) {
      // A v_i = lambda_i v_i
      for (let r = 0; r < n; r++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += a[r * n + k]! * v[i * n + k]!;
        worst = Math.max(worst, Math.abs(s - values[i]! * v[i * n + r]!));
      }
      // orthonormal
      for (let j = 0; j <= i; j++) {
        let s = 0;
        for (let k = 0; k < n; k++) s += v[i * n + k]! * v[j * n + k]!;
        worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
      }
      if (i > 0) expect(values[i]!).toBeGreaterThanOrEqual(values[i - 1]!);
    }
    expect(worst).toBeLessThan(1e-12);
    // The values-only path gives the same spectrum.
    const only = symmetricEigen(a, n, { vectors: false });
    expect(only.vectors).toBeUndefined();
    only.values.forEach((x, i) => expect(Math.abs(x - values[i]!)).toBeLessThan(1e-12));
  });

  it('handles a rank-deficient matrix and an all-zero one', () => {
    // u u^T has one eigenvalue |u|^2 and n-1 zeros.
    const u = [1, 2, 3, 4];
    const a = new Float64Array(16);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) a[i * 4 + j] = u[i]! * u[j]!;
    const { values } = symmetricEigen(a, 4, { vectors: false });
    expect(values[3]).toBeCloseTo(30, 12);
    for (let i = 0; i < 3; i++) expect(Math.abs(values[i]!)).toBeLessThan(1e-12);
    expect([...symmetricEigen(new Float64Array(9), 3).values]).toEqual([0, 0, 0]);
  });
});

describe('meanAndCovariance', () => {
  it('matches the textbook formulas on a small example', () => {
    const m = featureMatrix(new Float64Array([1, 2, 3, 6, 5, 10]), 3, 2);
    const { mean, covariance } = meanAndCovariance(m);
    expect([...mean]).toEqual([3, 6]);
    // x: 1,3,5 (var 4); y: 2,6,10 (var 16); cov 8
    expect([...covariance]).toEqual([4, 8, 8, 16]);
  });
});
