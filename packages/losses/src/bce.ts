import * as tf from '@tensorflow/tfjs';

/** Keras' `backend.epsilon()`: binary cross-entropy clips predictions to [EPSILON, 1 - EPSILON]. */
export const EPSILON = 1e-7;

/**
 * Binary cross-entropy on probabilities, exactly as Keras 3 computes
 * `losses.BinaryCrossentropy()(targets, predictions)` (from_logits=False):
 * predictions clipped to [1e-7, 1 - 1e-7], then
 * -(y log p + (1 - y) log(1 - p)), averaged over the last axis and then over
 * the batch. Targets may leave [0, 1] (the book's noisy labels do).
 *
 * The clip matters for gradients too: a prediction outside the clip range gets
 * no gradient, as in TensorFlow's clip_by_value.
 */
export function binaryCrossentropy(targets: tf.Tensor, predictions: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const p = tf.clipByValue(predictions, EPSILON, 1 - EPSILON);
    const terms = tf.add(tf.mul(targets, tf.log(p)), tf.mul(tf.sub(1, targets), tf.log(tf.sub(1, p))));
    return tf.mean(tf.mean(tf.neg(terms), -1)) as tf.Scalar;
  });
}

/** The generator half every BCE loss of the book's family shares: BCE of D(G(z)) against ones (non-saturating). */
export function bceGeneratorLoss(fake: tf.Tensor): tf.Scalar {
  return tf.tidy(() => binaryCrossentropy(tf.onesLike(fake), fake));
}

/** (BCE(real targets, D(x)) + BCE(fake targets, D(G(z)))) / 2, the book's d_loss shape. */
export function bceDiscriminatorLoss(real: tf.Tensor, realTargets: tf.Tensor, fake: tf.Tensor, fakeTargets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.div(tf.add(binaryCrossentropy(realTargets, real), binaryCrossentropy(fakeTargets, fake)), 2) as tf.Scalar);
}
