import type { EpochMetrics } from '@duel/core';
import { squaredDistance, type FeatureMatrix } from './linalg';

/**
 * Sample diversity: the mean Euclidean distance over all pairs of a batch's
 * feature vectors. A collapsed generator draws near-identical samples, so its
 * diversity falls far below that of real data seen through the same extractor.
 *
 * @param maxSamples - only the first `maxSamples` rows are used (cost grows
 *   with its square). @default 1000
 */
export function sampleDiversity(features: FeatureMatrix, maxSamples = 1000): number {
  const n = Math.min(features.n, maxSamples);
  if (n < 2) throw new Error(`sampleDiversity: need at least 2 samples, got ${n}`);
  const { d, data } = features;
  let sum = 0;
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) sum += Math.sqrt(squaredDistance(data, i * d, data, j * d, d));
  return sum / ((n * (n - 1)) / 2);
}

/** The problems {@link detectProblems} recognises. */
export type ProblemKind = 'discriminator-dominating' | 'discriminator-saturated' | 'mode-collapse' | 'non-finite';

/** One problem, reported at the epoch where its condition first held. */
export interface Finding {
  readonly kind: ProblemKind;
  readonly epoch: number;
  readonly message: string;
}

/** Thresholds of {@link detectProblems}. */
export interface DetectOptions {
  /** d_fake_acc at or above this counts as "pinned". @default 0.98 */
  fakeAccuracyThreshold?: number;
  /** Epochs D must stay pinned while g_loss climbs. @default 3 */
  patience?: number;
  /** Diversity below this fraction of the real data's means collapse. @default 0.5 */
  collapseFraction?: number;
  /** The history field holding the generated samples' diversity. @default 'diversity' */
  diversityKey?: string;
  /** History fields that must stay finite. @default every field whose name ends in 'loss' */
  lossKeys?: readonly string[];
}

/** Least-squares slope of ys over 0..n-1. */
function slope(ys: readonly number[]): number {
  const n = ys.length;
  const mx = (n - 1) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, x) => {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  });
  return den === 0 ? 0 : num / den;
}

/**
 * Scans a run's epoch history for the failures a GAN run is known for:
 *
 * - `discriminator-dominating`: d_fake_acc >= threshold for `patience`
 *   consecutive epochs while g_loss climbs over them (the last of the window
 *   above the epoch before it, with a positive least-squares slope across
 *   the window). This is how the book's run ends ("the discriminator tends to
 *   end up dominating", ch. 4).
 * - `discriminator-saturated`: for `patience` epochs D's mean scores on real
 *   and fake batches are equal (within 0.02) and at an extreme (above 0.95 or
 *   below 0.05): D no longer separates them and G gets no gradient.
 * - `mode-collapse`: the generated samples' diversity (history field
 *   `diversityKey`, written by the evaluation callback) below
 *   `collapseFraction` of `realDiversity`.
 * - `non-finite`: a NaN or infinite loss.
 *
 * A finding is reported once per stretch: at the epoch its condition starts
 * to hold, and again only after it has stopped holding for an epoch.
 *
 * @param realDiversity - {@link sampleDiversity} of real images through the
 *   same extractor; NaN or undefined skips the collapse check.
 */
export function detectProblems(history: readonly EpochMetrics[], realDiversity: number | undefined, options: DetectOptions = {}): Finding[] {
  const threshold = options.fakeAccuracyThreshold ?? 0.98;
  const patience = options.patience ?? 3;
  const fraction = options.collapseFraction ?? 0.5;
  const diversityKey = options.diversityKey ?? 'diversity';
  if (!Number.isInteger(patience) || patience < 1) throw new Error(`detectProblems: patience must be a positive integer, got ${patience}`);
  const findings: Finding[] = [];
  const active: Record<ProblemKind, boolean> = { 'discriminator-dominating': false, 'discriminator-saturated': false, 'mode-collapse': false, 'non-finite': false };
  const report = (kind: ProblemKind, holds: boolean, epoch: number, message: () => string): void => {
    if (holds && !active[kind]) findings.push({ kind, epoch, message: message() });
    active[kind] = holds;
  };

  history.forEach((h, t) => {
    const lossKeys = options.lossKeys ?? Object.keys(h).filter((k) => k.endsWith('loss'));
    const bad = lossKeys.filter((k) => k in h && !Number.isFinite(h[k]));
    report('non-finite', bad.length > 0, h.epoch, () => `epoch ${h.epoch}: ${bad.map((k) => `${k} = ${h[k]}`).join(', ')}; training has diverged`);

    let dominating = false;
    if (t >= patience) {
      const window = history.slice(t - patience + 1, t + 1);
      const losses = history.slice(t - patience, t + 1).map((e) => e.g_loss);
      const pinned = window.every((e) => e.d_fake_acc >= threshold);
      dominating = pinned && losses.every(Number.isFinite) && losses[losses.length - 1]! > losses[0]! && slope(losses) > 0;
      if (dominating) {
        report('discriminator-dominating', true, h.epoch, () =>
          `epoch ${h.epoch}: d_fake_acc >= ${threshold} for ${patience} epochs (now ${h.d_fake_acc.toFixed(3)}) while g_loss rose from ${losses[0]!.toFixed(3)} to ${losses[losses.length - 1]!.toFixed(3)}; the discriminator is dominating and the generator gets no useful gradient`,
        );
      }
    }
    if (!dominating) active['discriminator-dominating'] = false;

    // D's outputs stuck at one extreme for real and fake alike: it tells them apart no more
    // and gives G no gradient (what a much too fast D ends in). Equilibrium (both near 0.5) is not this.
    if (t + 1 >= patience && 'd_real_mean' in h && 'd_fake_mean' in h) {
      const window = history.slice(t - patience + 1, t + 1);
      const saturated = window.every((e) => {
        const real = e['d_real_mean']!;
        const fake = e['d_fake_mean']!;
        return Math.abs(real - fake) < 0.02 && Math.abs((real + fake) / 2 - 0.5) > 0.45;
      });
      report('discriminator-saturated', saturated, h.epoch, () =>
        `epoch ${h.epoch}: for ${patience} epochs D scores real and fake images alike (mean D(x) ${h['d_real_mean']!.toFixed(3)}, mean D(G(z)) ${h['d_fake_mean']!.toFixed(3)}); the discriminator has saturated and training has collapsed`,
      );
    }

    const diversity = h[diversityKey];
    if (diversity !== undefined && realDiversity !== undefined && Number.isFinite(realDiversity) && realDiversity > 0) {
      const collapsed = Number.isFinite(diversity) && diversity < fraction * realDiversity;
      report('mode-collapse', collapsed, h.epoch, () =>
        `epoch ${h.epoch}: sample diversity ${diversity.toPrecision(4)} is ${((diversity / realDiversity) * 100).toFixed(1)}% of the real data's ${realDiversity.toPrecision(4)} (threshold ${fraction * 100}%); the generator looks collapsed`,
      );
    }
  });
  return findings;
}
