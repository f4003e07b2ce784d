/**
 * duel as a library: a program defines its own plugins in code, registers them
 * with `pluginsModule`, and trains an experiment object that names them.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { definePlugin, type Augmentation, type Callback } from '../packages/core/src/index';
import { DEFAULT_EXPERIMENT, loadExperiment, pluginsModule, train } from '../packages/cli/src/index';
import { latestCheckpoint, readJsonLines, tempDir } from './support/runs';

/** A user's augmentation: flips every batch D sees left to right. */
const mirror = definePlugin({
  kind: 'augment',
  name: 'mirror',
  description: 'flips every image D sees left to right',
  options: z.object({}).strict(),
  create: (): Augmentation => ({ name: 'mirror', apply: (images) => tf.reverse(images, 2) as tf.Tensor4D }),
});

/** A user's callback: counts the steps it saw and adds the count to each epoch's metrics. */
const stepCounter = definePlugin({
  kind: 'callback',
  name: 'step-counter',
  description: 'steps seen so far, as a metric',
  options: z.object({ scale: z.number().positive().default(1) }).strict(),
  create: (options): Callback => {
    let steps = 0;
    return {
      name: 'step-counter',
      onStepEnd: () => void steps++,
      onEpochEnd: (_view, metrics) => void (metrics['steps_seen'] = steps * options.scale),
    };
  },
});

const quiet = { line() {}, step() {}, epoch() {} };
const experiment = {
  ...DEFAULT_EXPERIMENT,
  data: { type: 'fashion-mnist', options: { split: 'train', imageSize: 32, limit: 96 } },
  trainer: { epochs: 2, batchSize: 32 },
  augment: [{ type: 'mirror' }],
  callbacks: [{ type: 'step-counter', options: { scale: 2 } }],
  tracking: [{ type: 'local' }],
};

describe('the library API', () => {
  it('trains an experiment object with plugins defined in code', async () => {
    const out = join(tempDir('duel-library-'), 'run');
    const result = await train({ document: experiment, modules: [pluginsModule([mirror, stepCounter])], out, progress: quiet, handleSignals: false });
    expect(result.status).toBe('FINISHED');
    expect(readJsonLines(join(out, 'metrics.jsonl')).map((m) => m['steps_seen'])).toEqual([6, 12]);
    expect(result.resolved.experiment.augment).toEqual([{ type: 'mirror', options: {} }]);
  }, 300_000);

  it('writes resume checkpoints on the cadence the experiment sets, keeping as many as it says', async () => {
    const out = join(tempDir('duel-library-'), 'run');
    const cadence = { ...DEFAULT_EXPERIMENT, data: { type: 'fashion-mnist', options: { split: 'train', imageSize: 32, limit: 64 } }, trainer: { epochs: 7, batchSize: 32, checkpointEvery: 2, keepCheckpoints: 3 }, callbacks: [], tracking: [{ type: 'local' }] };
    const result = await train({ document: cadence, out, progress: quiet, handleSignals: false });
    expect(result.status).toBe('FINISHED');
    // Epochs 2, 4 and 6 (two steps each), then the last one whatever the cadence; the oldest (epoch 2) pruned.
    expect(readdirSync(join(out, 'checkpoints')).filter((n) => n.startsWith('step-')).sort()).toEqual(['step-00000008', 'step-00000012', 'step-00000014']);
    expect(latestCheckpoint(out)).toMatchObject({ epoch: 7, step: 14 });
  }, 300_000);

  it("checks a code plugin's options like any other, before training", async () => {
    const bad = { ...experiment, callbacks: [{ type: 'step-counter', options: { scale: -1 } }] };
    await expect(loadExperiment({ document: bad, modules: [pluginsModule([mirror, stepCounter])] })).rejects.toThrow(/callbacks\.0\.options\.scale: expected number > 0, got -1/);
  });
});
