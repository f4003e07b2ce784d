import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';
import { bceDiscriminatorLoss, bceGeneratorLoss } from './bce';

/** Plain BCE for D: real targets 1, fake targets 0, halves averaged. */
export function nonSaturatingDiscriminatorLoss(input: DiscriminatorLossInput): tf.Scalar {
  return tf.tidy(() => bceDiscriminatorLoss(input.real, tf.onesLike(input.real), input.fake, tf.zerosLike(input.fake)));
}

/**
 * The non-saturating GAN loss (Goodfellow et al. 2014, section 3): plain BCE
 * for D, and G maximises log D(G(z)) (BCE against ones). No label noise.
 */
export const nonSaturating = definePlugin({
  kind: 'loss',
  name: 'non-saturating',
  description: 'The non-saturating GAN loss: plain binary cross-entropy, no label noise (probabilities).',
  options: z.object({}).strict(),
  expects: 'probability',
  create: (): GanLoss => ({
    expects: 'probability',
    discriminatorLoss: nonSaturatingDiscriminatorLoss,
    generatorLoss: bceGeneratorLoss,
  }),
});
