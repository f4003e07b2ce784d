import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from './backends';
import { batchNormTraining, seededDropout, seededUniform } from './fast-ops';
import { FUSED_BATCH_NORM, LEAKY_RELU_GRAD, RANDOM_UNIFORM } from './tensorflow-kernels';
import { probeTfjsNode } from './tfjs-node';

// These kernels run TensorFlow ops through the real tfjs-node addon; without it there is nothing to test.
const addon = probeTfjsNode('@tensorflow/tfjs-node');

function maxDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

/** BatchNormalization(training=true) the way tfjs-layers computes it: moments, then batchNorm. */
function composite(x: tf.Tensor, scale: tf.Tensor, offset: tf.Tensor): tf.Tensor {
  const m = tf.moments(x, [0, 1, 2]);
  return tf.batchNorm4d(x as tf.Tensor4D, m.mean as tf.Tensor1D, m.variance as tf.Tensor1D, offset as tf.Tensor1D, scale as tf.Tensor1D, 1e-3);
}

describe.skipIf(addon.problem !== undefined)('duel kernels on tensorflow', () => {
  beforeAll(async () => {
    await createBackend('tensorflow').activate();
  });

  it('registers its kernels with the tensorflow backend', () => {
    expect(tf.getKernel(FUSED_BATCH_NORM, 'tensorflow')).toBeDefined();
    expect(tf.getKernel(RANDOM_UNIFORM, 'tensorflow')).toBeDefined();
  });

  it('fused batch norm: same output, statistics and gradients as the composite', () => {
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const x = tf.randomNormal([6, 5, 4, 3], 0.5, 2, 'float32', 1);
      const scale = tf.tensor1d([1.5, 0.5, -1]);
      const offset = tf.tensor1d([0.1, 0, -0.3]);
      const dy = tf.randomNormal([6, 5, 4, 3], 0, 1, 'float32', 2);
      const fused = batchNormTraining(x as tf.Tensor4D, scale, offset, 1e-3);
      const m = tf.moments(x, [0, 1, 2]);
      expect(maxDiff(fused.y, composite(x, scale, offset))).toBeLessThan(1e-5);
      expect(maxDiff(fused.mean, m.mean)).toBeLessThan(1e-6);
      // The biased variance (divided by N*H*W = 120), as Keras 3 averages it.
      expect(maxDiff(fused.variance, m.variance)).toBeLessThan(1e-5);
      const viaFused = tf.grads((a, s, o) => batchNormTraining(a as tf.Tensor4D, s as tf.Tensor1D, o as tf.Tensor1D, 1e-3).y)([x, scale, offset], dy);
      const viaComposite = tf.grads(composite)([x, scale, offset], dy);
      viaFused.forEach((g, i) => expect(maxDiff(g, viaComposite[i]!), `gradient ${i}`).toBeLessThan(1e-4));
    });
    expect(tf.memory().numTensors).toBe(before);
  });

  it("LeakyRelu's gradient: one TensorFlow op here, tfjs' formula elsewhere, same values", async () => {
    const x = [-2, -0.5, 0, 0.25, 3, -1e-8, 1e-8, 0];
    const dy = [1, 2, 3, 4, 5, 6, 7, -8];
    const expected = x.map((v, i) => (v > 0 ? dy[i]! : 0.2 * dy[i]!));
    const grad = () => tf.tidy(() => Array.from(tf.grad((t) => tf.leakyRelu(t, 0.2))(tf.tensor1d(x), tf.tensor1d(dy)).dataSync()));
    expect(tf.getKernel(LEAKY_RELU_GRAD, 'tensorflow')).toBeDefined();
    grad().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    await tf.setBackend('cpu');
    try {
      grad().forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
    } finally {
      await tf.setBackend('tensorflow');
    }
  });

  it('seeded uniform draws repeat for a seed, differ across seeds and look uniform', () => {
    tf.tidy(() => {
      const a = seededUniform([200, 50], 7);
      const b = seededUniform([200, 50], 7);
      const c = seededUniform([200, 50], 8);
      expect(maxDiff(a, b)).toBe(0);
      expect(maxDiff(a, c)).toBeGreaterThan(0.5);
      expect(tf.min(a).dataSync()[0]).toBeGreaterThanOrEqual(0);
      expect(tf.max(a).dataSync()[0]).toBeLessThan(1);
      expect(Math.abs(tf.mean(a).dataSync()[0]! - 0.5)).toBeLessThan(0.01);
      expect(a.shape).toEqual([200, 50]);
    });
  });

  it('seeded dropout keeps about 1 - rate of the units, scaled, and passes gradients through the mask only', () => {
    tf.tidy(() => {
      const x = tf.ones([100, 100]);
      const y = seededDropout(x, 0.3, 11);
      const kept = tf.sum(tf.greater(y, 0)).dataSync()[0]! / 10_000;
      expect(Math.abs(kept - 0.7)).toBeLessThan(0.02);
      expect(tf.max(y).dataSync()[0]).toBeCloseTo(1 / 0.7, 5);
      const g = tf.grad((t) => tf.sum(seededDropout(t, 0.3, 11)))(x);
      expect(maxDiff(g, y)).toBeLessThan(1e-6);
    });
  });
});
