import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, deriveSeed, generate, Streams, writeFileAtomic, type ArtifactContext, type Callback } from '@duel/core';
import { encodePng, memorisationGrid } from '@duel/data';

export const memorisationOptions = z
  .object({
    /** @default 3 (the book) */
    rows: z.number().int().positive().default(3),
    /** @default 10 (the book) */
    cols: z.number().int().positive().default(10),
  })
  .strict();

/**
 * The book's memorisation check after training: samples, each above its
 * nearest training image by mean absolute difference (`memorisation.png`,
 * `memorisation.json` with the distances).
 */
export const memorisation = definePlugin({
  kind: 'callback',
  name: 'memorisation',
  description: "after training, samples beside their nearest training images (the book's memorisation check)",
  options: memorisationOptions,
  create(options, context: ArtifactContext): Callback {
    return {
      name: 'memorisation',
      async onTrainEnd(view, status) {
        if (status === 'KILLED') return;
        const z = tf.randomNormal([options.rows * options.cols, view.latentDim], 0, 1, 'float32', deriveSeed(view.step, Streams.evaluation)) as tf.Tensor2D;
        const samples = generate(view.generator, z);
        const grid = await memorisationGrid(samples, view.dataset, { rows: options.rows, cols: options.cols });
        tf.dispose([z, samples]);
        const path = join(view.runDir, 'memorisation.png');
        writeFileAtomic(path, await encodePng(grid.pixels, grid.width, grid.height, grid.channels));
        const distances = grid.neighbours.map((n) => n.meanAbsDiff);
        const mean = distances.reduce((a, b) => a + b, 0) / Math.max(1, distances.length);
        writeFileAtomic(join(view.runDir, 'memorisation.json'), JSON.stringify({ neighbours: grid.neighbours, mean_abs_diff: mean }, null, 1));
        context?.onArtifact?.(path, 'memorisation.png');
        view.log(`memorisation check: mean absolute difference to the nearest training image ${mean.toFixed(4)} (memorisation.png)`);
      },
    };
  },
});
