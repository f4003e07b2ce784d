import * as tf from '@tensorflow/tfjs';
import { definePlugin } from '@duel/core';
import type { DiscriminatorLossInput, GanLoss } from '@duel/core';
import { z } from 'zod';
import { criticGeneratorLoss } from './hinge';

export const wganGpOptions = z
  .object({
    /** Weight of the gradient penalty. @default 10 (Gulrajani et al. 2017) */
    penaltyWeight: z.number().min(0).default(10),
    /**
     * How x_hat mixes real and fake images. `uniform`: x_hat = e x + (1 - e) G(z),
     * e ~ U(0, 1), the paper's. `normal`: x_hat = x + a (G(z) - x), a ~ N(0, 1), what
     * the book's WGAN-GP notebook (after the keras.io example) does; a then leaves [0, 1].
     * @default 'uniform'
     */
    mixing: z.enum(['uniform', 'normal']).default('uniform'),
  })
  .strict();

/**
 * The gradient penalty: mean over the batch of (||grad_x D(x_hat)||_2 - 1)^2,
 * x_hat = e x + (1 - e) G(z), e ~ U(0, 1) per sample (drawn by `input.uniform`).
 *
 * The gradient over x_hat is taken inside the caller's tape (tfjs records the
 * ops of an inner `tf.grad` on the outer tape), so d_loss stays differentiable
 * in D's weights: a second-order gradient. D runs once more, in training mode:
 * with BatchNorm that is one more moving-statistics update (the paper's critic
 * has no BatchNorm for that reason; use `batchNorm: false`).
 */
export function gradientPenalty(input: DiscriminatorLossInput, mixing: 'uniform' | 'normal' = 'uniform'): tf.Scalar {
  return tf.tidy(() => {
    const [batch] = input.realImages.shape;
    let mixed: tf.Tensor4D;
    if (mixing === 'uniform') {
      const e = input.uniform([batch, 1, 1, 1]);
      mixed = tf.add(tf.mul(e, input.realImages), tf.mul(tf.sub(1, e), input.fakeImages)) as tf.Tensor4D;
    } else {
      // Box-Muller from two uniform draws: the loss only has a uniform source.
      const u1 = tf.maximum(input.uniform([batch, 1, 1, 1]), 1e-7);
      const u2 = input.uniform([batch, 1, 1, 1]);
      const a = tf.mul(tf.sqrt(tf.mul(-2, tf.log(u1))), tf.cos(tf.mul(2 * Math.PI, u2)));
      mixed = tf.add(input.realImages, tf.mul(a, tf.sub(input.fakeImages, input.realImages))) as tf.Tensor4D;
    }
    const gradient = tf.grad((x: tf.Tensor) => tf.sum(input.discriminate(x as tf.Tensor4D)))(mixed);
    // A tiny floor inside the root: sqrt has an infinite derivative at 0.
    const norms = tf.sqrt(tf.add(tf.sum(tf.square(gradient), [1, 2, 3]), 1e-12));
    return tf.mean(tf.square(tf.sub(norms, 1))) as tf.Scalar;
  });
}

/** mean(D(G(z))) - mean(D(x)) + lambda * gradient penalty, on logits. */
export function wganGpDiscriminatorLoss(input: DiscriminatorLossInput, penaltyWeight: number, mixing: 'uniform' | 'normal' = 'uniform'): tf.Scalar {
  return tf.tidy(() => {
    const wasserstein = tf.sub(tf.mean(input.fake), tf.mean(input.real));
    if (penaltyWeight === 0) return wasserstein as tf.Scalar;
    return tf.add(wasserstein, tf.mul(penaltyWeight, gradientPenalty(input, mixing))) as tf.Scalar;
  });
}

/**
 * WGAN with gradient penalty (Gulrajani et al. 2017, "Improved Training of
 * Wasserstein GANs", algorithm 1), the book's ch. 4 second model. Expects
 * logits (a critic): set the discriminator's `output: logit`.
 */
export const wganGp = definePlugin({
  kind: 'loss',
  name: 'wgan-gp',
  description: 'WGAN-GP: critic loss D(G(z)) - D(x) + lambda * (||grad D(x_hat)|| - 1)^2 (logits).',
  options: wganGpOptions,
  expects: 'logit',
  create: (options): GanLoss => ({
    expects: 'logit',
    discriminatorLoss: (input) => wganGpDiscriminatorLoss(input, options.penaltyWeight, options.mixing),
    generatorLoss: criticGeneratorLoss,
  }),
});
