import { describe, expect, it } from 'vitest';
import type { Callback, EpochMetrics, TrainingView } from '@duel/core';
import { earlyStop, earlyStopOptions } from './early-stop';

const epoch = (n: number, gLoss: number) => ({ epoch: n, g_loss: gLoss }) as EpochMetrics;

/** Feeds g_loss values to the callback from `first` on; returns the stop reason, if any. */
async function feed(callback: Callback, first: number, losses: number[]): Promise<string | undefined> {
  let reason: string | undefined;
  const view = { requestStop: (r: string) => (reason ??= r) } as unknown as TrainingView;
  for (const [i, loss] of losses.entries()) await callback.onEpochEnd!(view, epoch(first + i, loss));
  return reason;
}

describe('early-stop', () => {
  it('stops after `patience` epochs without an improvement larger than minDelta', async () => {
    const callback = await earlyStop.create(earlyStopOptions.parse({ patience: 2, minDelta: 0.1 }), {});
    expect(await feed(callback, 1, [1, 0.95, 0.5, 0.45])).toBeUndefined();
    expect(await feed(callback, 5, [0.46])).toMatch(/g_loss has not improved on 0\.5000 for 2 epochs/);
  });

  it('counts on after a resume from its saved state, as an uninterrupted run does', async () => {
    const options = earlyStopOptions.parse({ monitor: 'g_loss', patience: 3 });
    const uninterrupted = await earlyStop.create(options, {});
    const before = await earlyStop.create(options, {});
    expect(await feed(before, 1, [1, 2, 3])).toBeUndefined();
    const saved = before.state!.saveState();
    expect(saved.data).toEqual({ best: 1, since: 2 });

    const after = await earlyStop.create(options, {});
    after.state!.restoreState(JSON.parse(JSON.stringify(saved)), 'resume');
    const resumed = await feed(after, 4, [4]);
    expect(resumed).toMatch(/not improved on 1\.0000 for 3 epochs/);
    expect(await feed(uninterrupted, 1, [1, 2, 3, 4])).toBe(resumed);
    // A fresh callback (what a resume without state gave) would have gone on.
    expect(await feed(await earlyStop.create(options, {}), 4, [4])).toBeUndefined();
  });
});
