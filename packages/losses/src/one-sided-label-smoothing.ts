import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';
import { bceDiscriminatorLoss, bceGeneratorLoss } from './bce';

export const oneSidedLabelSmoothingOptions = z
  .object({
    /** Real targets are 1 - smoothing; fake targets stay 0. @default 0.1 */
    smoothing: z.number().min(0).lt(1).default(0.1),
  })
  .strict();

/**
 * One-sided label smoothing (Salimans et al. 2016, "Improved Techniques for
 * Training GANs", 3.4): real targets 1 - s, fake targets 0, BCE halves averaged.
 */
export function oneSidedLabelSmoothingDiscriminatorLoss(input: DiscriminatorLossInput, smoothing: number): tf.Scalar {
  return tf.tidy(() => bceDiscriminatorLoss(input.real, tf.fill(input.real.shape, 1 - smoothing), input.fake, tf.zerosLike(input.fake)));
}

/** A stabiliser: BCE with real targets 1 - s and fake targets 0. Expects probabilities. */
export const oneSidedLabelSmoothing = definePlugin({
  kind: 'loss',
  name: 'one-sided-label-smoothing',
  description: 'Binary cross-entropy with real targets 1 - s, fake targets 0 (Salimans et al. 2016; probabilities).',
  options: oneSidedLabelSmoothingOptions,
  expects: 'probability',
  create: (options): GanLoss => ({
    expects: 'probability',
    discriminatorLoss: (input) => oneSidedLabelSmoothingDiscriminatorLoss(input, options.smoothing),
    generatorLoss: bceGeneratorLoss,
  }),
});
