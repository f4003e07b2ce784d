import { describe, expect, it } from 'vitest';
import { mulberry32 } from '@duel/core';
import { kid, kidSubsets } from './kid';
import { featureMatrix } from './linalg';
import { precisionRecall, kthNeighbourRadii } from './precision-recall';

function uniformFeatures(n: number, d: number, seed: number, shift = 0): Float64Array {
  const next = mulberry32(seed);
  return Float64Array.from({ length: n * d }, () => next() + shift);
}

describe('kid', () => {
  it('matches a direct evaluation of the unbiased MMD^2 on one subset', () => {
    const x = featureMatrix(uniformFeatures(5, 3, 1), 5, 3);
    const y = featureMatrix(uniformFeatures(5, 3, 2, 0.5), 5, 3);
    const k = (a: Float64Array, i: number, b: Float64Array, j: number): number => {
      let s = 0;
      for (let t = 0; t < 3; t++) s += a[i * 3 + t]! * b[j * 3 + t]!;
      return (s / 3 + 1) ** 3;
    };
    let xx = 0;
    let yy = 0;
    let xy = 0;
    for (let i = 0; i < 5; i++)
      for (let j = 0; j < 5; j++) {
        if (i !== j) xx += k(x.data, i, x.data, j);
        if (i !== j) yy += k(y.data, i, y.data, j);
        xy += k(x.data, i, y.data, j);
      }
    const want = xx / 20 + yy / 20 - (2 * xy) / 25;
    const all = Int32Array.from([0, 1, 2, 3, 4]);
    const got = kid(x, y, { indices: { x: [all], y: [all] } });
    expect(got.mean).toBeCloseTo(want, 12);
    expect(got.std).toBe(0);
    expect(want).toBeGreaterThan(0);
  });

  it('is near zero for one distribution and clearly positive for shifted data', () => {
    const n = 300;
    const d = 8;
    const a = featureMatrix(uniformFeatures(n, d, 3), n, d);
    const b = featureMatrix(uniformFeatures(n, d, 4), n, d);
    const c = featureMatrix(uniformFeatures(n, d, 5, 0.3), n, d);
    const same = kid(a, b, { subsets: 20, subsetSize: 100, seed: 1 });
    const shifted = kid(a, c, { subsets: 20, subsetSize: 100, seed: 1 });
    expect(Math.abs(same.mean)).toBeLessThan(3 * same.std + 1e-3);
    expect(shifted.mean).toBeGreaterThan(10 * Math.abs(same.mean));
    expect(same.subsetSize).toBe(100);
    // The gram-matrix path and the per-subset path agree (size 300 uses gram).
    const perSubset = kid(a, c, { indices: kidSubsets(n, n, { subsets: 1, subsetSize: 100, seed: 1 }) });
    expect(perSubset.values[0]).toBeCloseTo(shifted.values[0]!, 12);
  });

  it('draws seeded subsets of distinct rows, capped at the set size', () => {
    const s1 = kidSubsets(50, 40, { subsets: 3, subsetSize: 1000, seed: 7 });
    const s2 = kidSubsets(50, 40, { subsets: 3, subsetSize: 1000, seed: 7 });
    expect(s1.x[0]!.length).toBe(40);
    expect(new Set(s1.x[2]).size).toBe(40);
    expect([...s1.y[1]!]).toEqual([...s2.y[1]!]);
    expect([...s1.x[0]!]).not.toEqual([...kidSubsets(50, 40, { subsets: 3, seed: 8 }).x[0]!]);
  });
});

describe('precisionRecall', () => {
  it('follows the k-NN ball definition on a 1-D example', () => {
    // real: 0,1,2,3 -> 1-NN radii 1,1,1,1 (k = 1)
    const real = featureMatrix(new Float64Array([0, 1, 2, 3]), 4, 1);
    // fake: 0.5 (inside), 3.9 (inside ball of 3), 10 and 10.5 (outside)
    const fake = featureMatrix(new Float64Array([0.5, 3.9, 10, 10.5]), 4, 1);
    expect([...kthNeighbourRadii(real, 1)]).toEqual([1, 1, 1, 1]);
    // fake 1-NN squared radii: 0.5->3.9: 11.56; 3.9->0.5: 11.56; 10->10.5: .25; 10.5: .25
    const pr = precisionRecall(real, fake, { k: 1 });
    expect(pr.precision).toBe(0.5);
    // real points within sqrt(11.56)=3.4 of 0.5 or 3.9: all of 0..3
    expect(pr.recall).toBe(1);
    const far = featureMatrix(new Float64Array([20, 21, 22, 23]), 4, 1);
    expect(precisionRecall(real, far, { k: 1 })).toEqual({ precision: 0, recall: 0, k: 1 });
  });

  it('rejects k too large for the set', () => {
    const m = featureMatrix(new Float64Array([0, 1, 2]), 3, 1);
    expect(() => precisionRecall(m, m, { k: 3 })).toThrow(/more than k = 3/);
  });
});
