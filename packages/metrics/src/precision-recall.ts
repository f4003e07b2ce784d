import { forEachRowBlock, type FeatureMatrix } from './linalg';

/** Improved precision and recall of a generated set against a real one. */
export interface PrecisionRecall {
  /** Fraction of generated samples inside the real manifold. */
  readonly precision: number;
  /** Fraction of real samples inside the generated manifold. */
  readonly recall: number;
  readonly k: number;
}

/**
 * Squared distance of each row to its k-th nearest other row of the same set
 * (the radius of its hypersphere in the manifold estimate).
 */
export function kthNeighbourRadii(m: FeatureMatrix, k: number): Float64Array {
  const n = m.n;
  if (!Number.isInteger(k) || k < 1) throw new Error(`precision/recall: k must be a positive integer, got ${k}`);
  if (n <= k) throw new Error(`precision/recall: need more than k = ${k} samples per set, got ${n}`);
  // Each row keeps its k smallest distances, sorted ascending; every pair is
  // measured once and offered to both rows.
  const best = new Float64Array(n * k).fill(Infinity);
  const offer = (row: number, value: number): void => {
    const o = row * k;
    if (value >= best[o + k - 1]!) return;
    let p = k - 1;
    while (p > 0 && best[o + p - 1]! > value) {
      best[o + p] = best[o + p - 1]!;
      p--;
    }
    best[o + p] = value;
  };
  forEachRowBlock(
    m,
    m,
    'squared-distance',
    (i0, count, dist) => {
      for (let r = 0; r < count; r++) {
        const i = i0 + r;
        for (let j = i + 1; j < n; j++) {
          const v = dist[r * n + j]!;
          offer(i, v);
          offer(j, v);
        }
      }
    },
    true,
  );
  const radii = new Float64Array(n);
  for (let i = 0; i < n; i++) radii[i] = best[i * k + k - 1]!;
  return radii;
}

/**
 * Improved precision and recall (Kynkäänniemi et al. 2019, "Improved
 * Precision and Recall Metric for Assessing Generative Models"): each set's
 * manifold is the union of balls around its samples reaching their k-th
 * nearest neighbour. Precision: the share of generated samples inside some
 * real ball; recall: the share of real samples inside some generated ball.
 * A point on a ball's surface counts as inside.
 */
export function precisionRecall(real: FeatureMatrix, fake: FeatureMatrix, options: { k?: number } = {}): PrecisionRecall {
  if (real.d !== fake.d) throw new Error(`precision/recall: feature sizes differ (${real.d} vs ${fake.d})`);
  const k = options.k ?? 3;
  const realRadii = kthNeighbourRadii(real, k);
  const fakeRadii = kthNeighbourRadii(fake, k);
  const fakeCovered = new Uint8Array(fake.n);
  const realCovered = new Uint8Array(real.n);
  const nr = real.n;
  forEachRowBlock(fake, real, 'squared-distance', (g0, count, dist) => {
    for (let t = 0; t < count; t++) {
      const g = g0 + t;
      for (let r = 0; r < nr; r++) {
        const v = dist[t * nr + r]!;
        if (v <= realRadii[r]!) fakeCovered[g] = 1;
        if (v <= fakeRadii[g]!) realCovered[r] = 1;
      }
    }
  });
  let p = 0;
  for (const c of fakeCovered) p += c;
  let q = 0;
  for (const c of realCovered) q += c;
  return { precision: p / fake.n, recall: q / real.n, k };
}
