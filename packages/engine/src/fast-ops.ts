import * as tf from '@tensorflow/tfjs';
import { FUSED_BATCH_NORM, RANDOM_UNIFORM } from './tensorflow-kernels';

/**
 * The calls other packages make to duel's kernels, with the plain-tfjs
 * fallback for backends that lack them. Packages that may import only
 * @duel/core copy these few lines (they depend on nothing but the kernel
 * names); the engine's tests check both paths agree.
 */

function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** The result of batch normalisation in training mode. */
export interface BatchNormTraining {
  readonly y: tf.Tensor4D;
  /** The batch mean per channel. */
  readonly mean: tf.Tensor1D;
  /** The biased batch variance per channel (what Keras 3 averages into the moving variance). */
  readonly variance: tf.Tensor1D;
}

/**
 * Batch normalisation of NHWC `x` with the batch's own statistics, as
 * BatchNormalization(training=true) computes it; differentiable in x, scale
 * and offset. On 'tensorflow' with duel's kernels: FusedBatchNormV3 and its
 * fused gradient. Elsewhere: tf.moments + tf.batchNorm, tfjs-layers' own path.
 */
export function batchNormTraining(x: tf.Tensor4D, scale: tf.Tensor1D, offset: tf.Tensor1D, epsilon: number): BatchNormTraining {
  if (hasKernel(FUSED_BATCH_NORM)) {
    const [y, mean, variance, ...reserve] = tf.engine().runKernel(FUSED_BATCH_NORM, { x, scale, offset }, { epsilon }) as tf.Tensor[];
    // The reserve outputs live on the tape (saved for the gradient); these handles are not needed.
    for (const r of reserve) r.dispose();
    return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  }
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, [0, 1, 2]);
    return { y: tf.batchNorm4d(x, mean as tf.Tensor1D, variance as tf.Tensor1D, offset, scale, epsilon), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
  });
}

/**
 * U[0, 1) draws of `shape`, a pure function of `seed`: TensorFlow's Philox on
 * 'tensorflow' with duel's kernels, tf.randomUniform's seeded JS generator
 * elsewhere (different numbers, same contract).
 */
export function seededUniform(shape: number[], seed: number): tf.Tensor {
  if (hasKernel(RANDOM_UNIFORM)) return tf.engine().runKernel(RANDOM_UNIFORM, {}, { shape, seed }) as tf.Tensor;
  return tf.randomUniform(shape, 0, 1, 'float32', seed);
}

/** Inverted dropout with a mask drawn by {@link seededUniform}: keeps x / (1 - rate) where u >= rate. */
export function seededDropout(x: tf.Tensor, rate: number, seed: number): tf.Tensor {
  if (rate === 0) return x.clone();
  return tf.tidy(() => {
    const keep = tf.greaterEqual(seededUniform(x.shape, seed), rate);
    return tf.mul(x, tf.mul(tf.cast(keep, 'float32'), 1 / (1 - rate)));
  });
}
