import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';

/** 0.5 mean((D(x) - 1)^2) + 0.5 mean(D(G(z))^2): LSGAN with a = 0, b = 1. */
export function leastSquaresDiscriminatorLoss(input: DiscriminatorLossInput): tf.Scalar {
  return tf.tidy(() => tf.add(tf.mul(0.5, tf.mean(tf.square(tf.sub(input.real, 1)))), tf.mul(0.5, tf.mean(tf.square(input.fake)))) as tf.Scalar);
}

/** 0.5 mean((D(G(z)) - 1)^2): LSGAN with c = 1. */
export function leastSquaresGeneratorLoss(fake: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.mul(0.5, tf.mean(tf.square(tf.sub(fake, 1)))) as tf.Scalar);
}

/**
 * Least-squares GAN (Mao et al. 2017, "Least Squares Generative Adversarial
 * Networks", eq. 2 with a = 0, b = c = 1). D's output is used unsquashed, so
 * it expects logits.
 */
export const leastSquares = definePlugin({
  kind: 'loss',
  name: 'least-squares',
  description: 'LSGAN: squared error to 1 (real) and 0 (fake) on the raw discriminator output (logits).',
  options: z.object({}).strict(),
  expects: 'logit',
  create: (): GanLoss => ({ expects: 'logit', discriminatorLoss: leastSquaresDiscriminatorLoss, generatorLoss: leastSquaresGeneratorLoss }),
});
