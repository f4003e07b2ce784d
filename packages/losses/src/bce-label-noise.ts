import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';
import { bceDiscriminatorLoss, bceGeneratorLoss } from './bce';

export const bceLabelNoiseOptions = z
  .object({
    /** Scale of the uniform label noise: real targets 1 + n U, fake targets -n U. @default 0.1 (the book) */
    noise: z.number().min(0).default(0.1),
  })
  .strict();

/**
 * The book's discriminator loss (REFERENCE.md, "One training step", 3-4):
 * real targets 1 + noise * U(0, 1), fake targets 0 - noise * U(0, 1), drawn per
 * sample through `input.uniform` (real first, then fake), d_loss the mean of
 * the two binary cross-entropies.
 */
export function bceLabelNoiseDiscriminatorLoss(input: DiscriminatorLossInput, noise: number): tf.Scalar {
  return tf.tidy(() => {
    // Draw even when noise is 0, so that the stream of draws does not depend on the setting.
    const uReal = input.uniform(input.real.shape);
    const uFake = input.uniform(input.fake.shape);
    const realTargets = tf.add(tf.onesLike(input.real), tf.mul(noise, uReal));
    const fakeTargets = tf.sub(tf.zerosLike(input.fake), tf.mul(noise, uFake));
    return bceDiscriminatorLoss(input.real, realTargets, input.fake, fakeTargets);
  });
}

/** The book's loss: BCE with noisy labels for D, BCE against ones for G. Expects probabilities. */
export const bceLabelNoise = definePlugin({
  kind: 'loss',
  name: 'bce-label-noise',
  description: "The book's loss: binary cross-entropy, real targets 1 + n*U, fake targets -n*U (probabilities).",
  options: bceLabelNoiseOptions,
  expects: 'probability',
  create: (options): GanLoss => ({
    expects: 'probability',
    discriminatorLoss: (input) => bceLabelNoiseDiscriminatorLoss(input, options.noise),
    generatorLoss: bceGeneratorLoss,
  }),
});
