import * as tf from '@tensorflow/tfjs';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, deriveSeed, dueAfterEpoch, generate, Streams, writeFileAtomic, type ArtifactContext, type Callback, type TrainingView } from '@duel/core';
import { encodePng, fromTensor, makeGrid } from '@duel/data';

export const sampleGridOptions = z
  .object({
    /** Write a grid every N epochs. @default 1 */
    every: z.number().int().positive().default(1),
    /** @default 4 */
    rows: z.number().int().positive().default(4),
    /** @default 8 */
    cols: z.number().int().positive().default(8),
    /**
     * `fixed`: the same latent batch every epoch, so grids show one sample's
     * progress; `fresh`: a new one each epoch, as the book's strip does.
     * @default 'fixed'
     */
    latent: z.enum(['fixed', 'fresh']).default('fixed'),
  })
  .strict();

/** Writes `samples/<prefix>-0001.png`... from the generator in inference mode. */
export async function writeSampleGrid(view: TrainingView, epoch: number, options: z.output<typeof sampleGridOptions>, prefix = 'epoch'): Promise<string> {
  const count = options.rows * options.cols;
  const z = tf.tidy(() =>
    options.latent === 'fixed' && count <= view.fixedLatent.shape[0]
      ? view.fixedLatent.slice([0, 0], [count, view.latentDim])
      : tf.randomNormal([count, view.latentDim], 0, 1, 'float32', deriveSeed(view.step, Streams.fixedLatent, epoch)),
  ) as tf.Tensor2D;
  const images = generate(view.generator, z);
  const batch = fromTensor(images);
  tf.dispose([z, images]);
  const grid = makeGrid(batch, { rows: options.rows, cols: options.cols });
  const png = await encodePng(grid.pixels, grid.width, grid.height, grid.channels);
  const dir = join(view.runDir, 'samples');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${prefix}-${String(epoch).padStart(4, '0')}.png`);
  writeFileAtomic(path, png);
  return path;
}

export const sampleGrid = definePlugin({
  kind: 'callback',
  name: 'sample-grid',
  description: 'a grid of generated samples per epoch (samples/epoch-NNNN.png)',
  options: sampleGridOptions,
  create(options, context: ArtifactContext): Callback {
    return {
      name: 'sample-grid',
      async onEpochEnd(view, metrics) {
        if (!dueAfterEpoch(metrics.epoch, options.every, view.totalEpochs)) return;
        const path = await writeSampleGrid(view, metrics.epoch, options);
        context?.onArtifact?.(path, `samples/${path.split('/').pop()}`);
      },
    };
  },
});
