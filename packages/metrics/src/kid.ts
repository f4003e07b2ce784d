import { mulberry32 } from '@duel/core';
import { forEachRowBlock, multiplyTransposed, selectRows, type FeatureMatrix } from './linalg';

/** Row indices of the subsets KID averages over: `x[s]` and `y[s]` pair up. */
export interface KidSubsets {
  /** Subsets of the first (real) set, each of `size` distinct rows. */
  readonly x: readonly Int32Array[];
  /** Subsets of the second (generated) set. */
  readonly y: readonly Int32Array[];
}

/** KID over subsets: the mean and spread of the per-subset MMD^2 estimates. */
export interface KidResult {
  readonly mean: number;
  /** Population standard deviation over subsets (as torch-fidelity reports it). */
  readonly std: number;
  readonly subsets: number;
  readonly subsetSize: number;
  /** Each subset's unbiased MMD^2. */
  readonly values: Float64Array;
}

/** Options for {@link kid}. */
export interface KidOptions {
  /** How many subset pairs to average over. @default 100 */
  subsets?: number;
  /** Rows per subset; capped at the smaller set's size. @default 1000 */
  subsetSize?: number;
  /** Seed of the subset draws. @default 0 */
  seed?: number;
  /** Explicit subsets (overrides subsets/subsetSize/seed): for reference checks. */
  indices?: KidSubsets;
}

/** `count` distinct integers from 0..n-1 (partial Fisher-Yates). */
function sampleWithoutReplacement(n: number, count: number, next: () => number): Int32Array {
  const pool = new Int32Array(n);
  for (let i = 0; i < n; i++) pool[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(next() * (n - i));
    const t = pool[i]!;
    pool[i] = pool[j]!;
    pool[j] = t;
  }
  return pool.slice(0, count);
}

/**
 * The subsets {@link kid} draws for given set sizes: `subsets` pairs of
 * `min(subsetSize, nx, ny)` distinct rows each, from one seeded stream.
 */
export function kidSubsets(nx: number, ny: number, options: { subsets?: number; subsetSize?: number; seed?: number } = {}): KidSubsets {
  const subsets = options.subsets ?? 100;
  const size = Math.min(options.subsetSize ?? 1000, nx, ny);
  if (!Number.isInteger(subsets) || subsets < 1) throw new Error(`kid: subsets must be a positive integer, got ${subsets}`);
  if (size < 2) throw new Error(`kid: need subsets of at least 2 rows, got ${size} (sets of ${nx} and ${ny})`);
  const next = mulberry32(options.seed ?? 0);
  const x: Int32Array[] = [];
  const y: Int32Array[] = [];
  for (let s = 0; s < subsets; s++) {
    x.push(sampleWithoutReplacement(nx, size, next));
    y.push(sampleWithoutReplacement(ny, size, next));
  }
  return { x, y };
}

/** Whole kernel matrices are used when they need no more than this many values. */
const GRAM_LIMIT = 1 << 24;

/** k(a, b) = (a.b / d + 1)^3, applied in place to a matrix of dot products. */
function applyKernel(dots: Float64Array, d: number): Float64Array {
  for (let i = 0; i < dots.length; i++) {
    const v = dots[i]! / d + 1;
    dots[i] = v * v * v;
  }
  return dots;
}

/**
 * Kernel Inception Distance (Bińkowski et al. 2018, "Demystifying MMD GANs"):
 * the unbiased estimate of MMD^2 with the cubic polynomial kernel
 * k(x, y) = (x.y / d + 1)^3, averaged over random subset pairs. Per subset
 * of size m: sum_{i!=j} k(x_i,x_j)/(m(m-1)) + sum_{i!=j} k(y_i,y_j)/(m(m-1))
 * - 2 sum_{i,j} k(x_i,y_j)/m^2. Unbiased, so it can dip below zero when the
 * sets match.
 */
export function kid(x: FeatureMatrix, y: FeatureMatrix, options: KidOptions = {}): KidResult {
  if (x.d !== y.d) throw new Error(`kid: feature sizes differ (${x.d} vs ${y.d})`);
  const subsets = options.indices ?? kidSubsets(x.n, y.n, options);
  const count = subsets.x.length;
  if (count < 1 || subsets.y.length !== count) throw new Error('kid: need as many x subsets as y subsets, at least one');
  const m = subsets.x[0]!.length;
  for (let s = 0; s < count; s++) {
    if (subsets.x[s]!.length !== m || subsets.y[s]!.length !== m) throw new Error('kid: every subset must have the same size');
    for (const i of subsets.x[s]!) if (i < 0 || i >= x.n) throw new Error(`kid: x index ${i} outside 0..${x.n - 1}`);
    for (const i of subsets.y[s]!) if (i < 0 || i >= y.n) throw new Error(`kid: y index ${i} outside 0..${y.n - 1}`);
  }
  if (m < 2) throw new Error(`kid: subsets need at least 2 rows, got ${m}`);
  const d = x.d;
  // Whole kernel matrices cost about 2n^2 kernel evaluations once; per-subset
  // sums cost 2m^2 per subset. Use the matrices when cheaper and small enough.
  const gramEntries = x.n * x.n + y.n * y.n + x.n * y.n;
  const values = new Float64Array(count);
  if (gramEntries <= GRAM_LIMIT && gramEntries < 2 * count * m * m) {
    const kxx = applyKernel(multiplyTransposed(x, x, true), d);
    const kyy = applyKernel(multiplyTransposed(y, y, true), d);
    const kxy = applyKernel(multiplyTransposed(x, y), d);
    for (let s = 0; s < count; s++) {
      const ix = subsets.x[s]!;
      const iy = subsets.y[s]!;
      let sxx = 0;
      let syy = 0;
      let sxy = 0;
      for (let a = 0; a < m; a++) {
        const xa = ix[a]! * x.n;
        const ya = iy[a]! * y.n;
        const xya = ix[a]! * y.n;
        for (let b = a + 1; b < m; b++) {
          sxx += kxx[xa + ix[b]!]!;
          syy += kyy[ya + iy[b]!]!;
        }
        for (let b = 0; b < m; b++) sxy += kxy[xya + iy[b]!]!;
      }
      values[s] = unbiasedMmd(sxx, syy, sxy, m);
    }
  } else {
    for (let s = 0; s < count; s++) {
      const xs = selectRows(x, subsets.x[s]!);
      const ys = selectRows(y, subsets.y[s]!);
      values[s] = unbiasedMmd(offDiagonalKernelSum(xs, d), offDiagonalKernelSum(ys, d), crossKernelSum(xs, ys, d), m);
    }
  }
  let mean = 0;
  for (const v of values) mean += v;
  mean /= count;
  let variance = 0;
  for (const v of values) variance += (v - mean) ** 2;
  variance /= count;
  return { mean, std: Math.sqrt(variance), subsets: count, subsetSize: m, values };
}

/** MMD^2_u from kernel sums: pairs i < j within each set, all pairs across. */
function unbiasedMmd(sxx: number, syy: number, sxy: number, m: number): number {
  return (2 * sxx + 2 * syy) / (m * (m - 1)) - (2 * sxy) / (m * m);
}

/** Sum of k(a_i, a_j) over i < j. */
function offDiagonalKernelSum(a: FeatureMatrix, d: number): number {
  let sum = 0;
  forEachRowBlock(
    a,
    a,
    'dot',
    (i0, count, dots) => {
      for (let r = 0; r < count; r++) {
        for (let j = i0 + r + 1; j < a.n; j++) {
          const v = dots[r * a.n + j]! / d + 1;
          sum += v * v * v;
        }
      }
    },
    true,
  );
  return sum;
}

/** Sum of k(a_i, b_j) over all i, j. */
function crossKernelSum(a: FeatureMatrix, b: FeatureMatrix, d: number): number {
  let sum = 0;
  forEachRowBlock(a, b, 'dot', (_i0, count, dots) => {
    for (let t = 0; t < count * b.n; t++) {
      const v = dots[t]! / d + 1;
      sum += v * v * v;
    }
  });
  return sum;
}
