import { describe, expect, it } from 'vitest';
import type { EpochMetrics } from '@duel/core';
import { detectProblems, sampleDiversity } from './diagnostics';
import { featureMatrix } from './linalg';

function epoch(e: number, over: Partial<EpochMetrics> = {}): EpochMetrics {
  return { epoch: e, step: e * 10, d_loss: 0.6, g_loss: 1, d_real_acc: 0.7, d_fake_acc: 0.7, d_acc: 0.7, g_acc: 0.3, d_real_mean: 0.7, d_fake_mean: 0.3, grad_norm_d: 1, grad_norm_g: 1, images_per_s: 100, seconds: 1, ...over };
}

describe('sampleDiversity', () => {
  it('is the mean pairwise Euclidean distance', () => {
    // (0,0), (3,4), (6,8): distances 5, 10, 5
    expect(sampleDiversity(featureMatrix(new Float64Array([0, 0, 3, 4, 6, 8]), 3, 2))).toBeCloseTo(20 / 3, 12);
    expect(sampleDiversity(featureMatrix(new Float64Array([1, 1, 1, 1]), 2, 2))).toBe(0);
    expect(() => sampleDiversity(featureMatrix(new Float64Array([1, 1]), 1, 2))).toThrow(/at least 2/);
  });
});

describe('detectProblems', () => {
  it('reports a saturated discriminator once its scores sit at an extreme, alike, for `patience` epochs', () => {
    const stuck = { d_real_mean: 0.999, d_fake_mean: 0.998, d_fake_acc: 0, g_acc: 1, g_loss: 0 };
    const history = [epoch(1), epoch(2, stuck), epoch(3, stuck), epoch(4, stuck), epoch(5, stuck)];
    const found = detectProblems(history, undefined, { patience: 3 }).filter((f) => f.kind === 'discriminator-saturated');
    expect(found.map((f) => f.epoch)).toEqual([4]);
    // Equilibrium (both near 0.5) is not saturation, and two stuck epochs are not enough.
    const calm = [1, 2, 3, 4].map((e) => epoch(e, { d_real_mean: 0.5, d_fake_mean: 0.5 }));
    expect(detectProblems(calm, undefined, { patience: 3 })).toEqual([]);
    expect(detectProblems(history.slice(0, 3), undefined, { patience: 3 }).filter((f) => f.kind === 'discriminator-saturated')).toEqual([]);
  });

  it('reports nothing for a healthy run', () => {
    const history = Array.from({ length: 10 }, (_, i) => epoch(i + 1, { g_loss: 1 + 0.1 * Math.sin(i), diversity: 9 }));
    expect(detectProblems(history, 10)).toEqual([]);
  });

  it('finds the discriminator dominating once d_fake_acc is pinned while g_loss climbs', () => {
    const history = [
      epoch(1),
      epoch(2),
      epoch(3, { d_fake_acc: 0.99, g_loss: 2 }),
      epoch(4, { d_fake_acc: 0.995, g_loss: 2.5 }),
      epoch(5, { d_fake_acc: 1, g_loss: 3 }),
      epoch(6, { d_fake_acc: 1, g_loss: 3.6 }),
    ];
    const findings = detectProblems(history, undefined);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.kind).toBe('discriminator-dominating');
    // window epochs 3..5 pinned, g_loss 1 (epoch 2) -> 3 (epoch 5) rising
    expect(findings[0]!.epoch).toBe(5);
    expect(findings[0]!.message).toMatch(/d_fake_acc >= 0.98 for 3 epochs/);
  });

  it('does not call it domination when g_loss falls, or accuracy dips, or patience is not reached', () => {
    const pinnedFalling = [epoch(1, { g_loss: 4 }), ...[2, 3, 4, 5].map((e) => epoch(e, { d_fake_acc: 1, g_loss: 4 - e * 0.5 }))];
    expect(detectProblems(pinnedFalling, undefined)).toEqual([]);
    const dip = [1, 2, 3, 4, 5].map((e) => epoch(e, { d_fake_acc: e === 4 ? 0.9 : 1, g_loss: e }));
    expect(detectProblems(dip, undefined)).toEqual([]);
    const short = [1, 2, 3].map((e) => epoch(e, { d_fake_acc: 1, g_loss: e }));
    expect(detectProblems(short, undefined)).toEqual([]);
    expect(detectProblems(short, undefined, { patience: 2 })).toHaveLength(1);
    expect(detectProblems(short, undefined, { patience: 2, fakeAccuracyThreshold: 1.01 })).toEqual([]);
  });

  it('finds mode collapse from the diversity field, once per stretch', () => {
    const history = [epoch(1, { diversity: 8 }), epoch(2, { diversity: 4.9 }), epoch(3, { diversity: 3 }), epoch(4, { diversity: 7 }), epoch(5, { diversity: 2 })];
    const findings = detectProblems(history, 10);
    expect(findings.map((f) => [f.kind, f.epoch])).toEqual([
      ['mode-collapse', 2],
      ['mode-collapse', 5],
    ]);
    expect(findings[0]!.message).toMatch(/49.0% of the real data's 10.00/);
    expect(detectProblems(history, 10, { collapseFraction: 0.1 })).toEqual([]);
    expect(detectProblems(history, undefined)).toEqual([]);
  });

  it('finds non-finite losses', () => {
    const history = [epoch(1), epoch(2, { d_loss: Number.NaN }), epoch(3, { d_loss: Number.NaN, g_loss: Number.POSITIVE_INFINITY })];
    const findings = detectProblems(history, undefined);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ kind: 'non-finite', epoch: 2 });
    expect(findings[0]!.message).toMatch(/d_loss = NaN/);
  });
});
