import { join, relative } from 'node:path';
import { z } from 'zod';
import { definePlugin, dueAfterEpoch, saveNetwork, type ArtifactContext, type Callback } from '@duel/core';

export const generatorSnapshotsOptions = z
  .object({
    /** Keep the generator after every N epochs (and after the last). @default 10 */
    every: z.number().int().positive().default(10),
  })
  .strict();

/** Where the generator of `epoch` is kept, relative to the run directory. */
export const generatorSnapshotName = (epoch: number) => `generators/epoch-${String(epoch).padStart(4, '0')}`;

/**
 * Keeps the generator of every N-th epoch as `generators/epoch-NNNN/` (tfjs
 * layers format), never pruned, unlike the rolling resume checkpoints: GANs
 * often get worse late (the book's run collapses near epoch 240), and
 * `duel sample|evaluate <run> --generator generators/epoch-0100` can score
 * or draw from any kept epoch afterwards.
 */
export const generatorSnapshots = definePlugin({
  kind: 'callback',
  name: 'generator-snapshots',
  description: 'keeps the generator every N epochs (generators/epoch-NNNN/), never pruned',
  options: generatorSnapshotsOptions,
  create(options, context: ArtifactContext): Callback {
    return {
      name: 'generator-snapshots',
      async onEpochEnd(view, metrics) {
        if (!dueAfterEpoch(metrics.epoch, options.every, view.totalEpochs)) return;
        const files = await saveNetwork(view.generator, join(view.runDir, generatorSnapshotName(metrics.epoch)));
        for (const file of files) context?.onArtifact?.(file, relative(view.runDir, file));
      },
    };
  },
});
