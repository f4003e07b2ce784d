import { meanAndCovariance, multiplyTransposed, pivotedCholesky, symmetricEigen, trace, type FeatureMatrix } from './linalg';

/** Mean and covariance of a feature set: all FID needs of it. */
export interface GaussianStatistics {
  readonly d: number;
  readonly mean: Float64Array;
  /** d x d, row-major, unbiased (N - 1). */
  readonly covariance: Float64Array;
}

/** Fits a Gaussian to features (mean and unbiased covariance). */
export function gaussianStatistics(features: FeatureMatrix): GaussianStatistics {
  const { mean, covariance } = meanAndCovariance(features);
  return { d: features.d, mean, covariance };
}

/**
 * Tr sqrt(S1 S2) for symmetric positive semi-definite S1, S2.
 *
 * S1 S2 is not symmetric, but with S1 = L L^T (pivoted Cholesky, L of size
 * d x rank) its non-zero eigenvalues are those of the symmetric positive
 * semi-definite M = L^T S2 L (the same argument that makes S1 S2 similar to
 * sqrt(S1) S2 sqrt(S1)). So the trace of the square root is the sum of the
 * square roots of M's eigenvalues, from a symmetric eigen-solver, and no
 * non-symmetric square root (the source of FID's "imaginary component"
 * trouble with `sqrtm`) is ever formed. Eigenvalues that round-off pushes
 * below zero are clamped to zero; directions where S1 vanishes drop out of
 * the factor (they contribute 0).
 */
export function traceSqrtProduct(s1: Float64Array, s2: Float64Array, d: number): number {
  const { factorT, rank } = pivotedCholesky(s1, d);
  if (rank === 0) return 0;
  const lt = { n: rank, d, data: factorT };
  // T = L^T S2 (row k of T is S2's rows dotted with row k of L^T: S2 is symmetric).
  const t = multiplyTransposed(lt, { n: d, d, data: s2 });
  const m = multiplyTransposed({ n: rank, d, data: t }, lt);
  // M is symmetric up to round-off; average the halves before solving.
  for (let a = 0; a < rank; a++) {
    for (let b = 0; b < a; b++) {
      const v = 0.5 * (m[a * rank + b]! + m[b * rank + a]!);
      m[a * rank + b] = v;
      m[b * rank + a] = v;
    }
  }
  const mu = symmetricEigen(m, rank, { vectors: false }).values;
  let sum = 0;
  for (let i = 0; i < rank; i++) sum += Math.sqrt(Math.max(0, mu[i]!));
  return sum;
}

/**
 * Fréchet distance between two Gaussians (Heusel et al. 2017, "GANs Trained
 * by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium"):
 * ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 sqrt(S1 S2)).
 */
export function frechetDistance(a: GaussianStatistics, b: GaussianStatistics): number {
  if (a.d !== b.d) throw new Error(`frechetDistance: feature sizes differ (${a.d} vs ${b.d})`);
  const d = a.d;
  let meanTerm = 0;
  for (let j = 0; j < d; j++) {
    const diff = a.mean[j]! - b.mean[j]!;
    meanTerm += diff * diff;
  }
  const covTerm = trace(a.covariance, d) + trace(b.covariance, d) - 2 * traceSqrtProduct(a.covariance, b.covariance, d);
  return meanTerm + covTerm;
}

/** FID of two feature sets: the Fréchet distance of their fitted Gaussians. */
export function fid(real: FeatureMatrix, fake: FeatureMatrix): number {
  return frechetDistance(gaussianStatistics(real), gaussianStatistics(fake));
}
