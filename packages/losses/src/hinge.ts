import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';

/** mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))) on logits. */
export function hingeDiscriminatorLoss(input: DiscriminatorLossInput): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mean(tf.relu(tf.sub(1, input.real))), tf.mean(tf.relu(tf.add(1, input.fake)))) as tf.Scalar);
}

/** -mean(D(G(z))) on logits (shared with the Wasserstein losses). */
export function criticGeneratorLoss(fake: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.neg(tf.mean(fake)) as tf.Scalar);
}

/**
 * The hinge loss (Lim & Ye 2017, "Geometric GAN"; Miyato et al. 2018; the
 * SAGAN loss). Expects logits: set the discriminator's `output: logit`.
 */
export const hinge = definePlugin({
  kind: 'loss',
  name: 'hinge',
  description: 'Hinge loss: D minimises relu(1 - D(x)) + relu(1 + D(G(z))), G maximises D(G(z)) (logits).',
  options: z.object({}).strict(),
  expects: 'logit',
  create: (): GanLoss => ({ expects: 'logit', discriminatorLoss: hingeDiscriminatorLoss, generatorLoss: criticGeneratorLoss }),
});
