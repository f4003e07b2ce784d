import * as tf from '@tensorflow/tfjs';
import { SeededStepRandom } from '@duel/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDiscriminator, buildGenerator, discriminatorOptionsSchema, generatorOptionsSchema } from './dcgan';
import { SpectralNormConv } from './spectral-norm-conv';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** The largest singular value of a [n, m] matrix by many power iterations on the host. */
function largestSingularValue(matrix: tf.Tensor2D): number {
  return tf.tidy(() => {
    let v: tf.Tensor = tf.ones([matrix.shape[1], 1]);
    for (let i = 0; i < 300; i++) v = tf.div(tf.matMul(matrix, tf.matMul(matrix, v), true), tf.norm(tf.matMul(matrix, tf.matMul(matrix, v), true)));
    return tf.norm(tf.matMul(matrix, v)).dataSync()[0]!;
  });
}

describe('SpectralNormConv', () => {
  it('divides the kernel by its largest singular value once the power iteration settles', () => {
    const layer = new SpectralNormConv({ filters: 8, kernelSize: 4, strides: 2, padding: 'same', transpose: false, seed: 3 });
    const x = tf.randomNormal([2, 8, 8, 3], 0, 1, 'float32', 1);
    for (let i = 0; i < 50; i++) tf.tidy(() => layer.apply(x, { training: true }) as tf.Tensor);
    // The effective kernel is conv(x, W / sigma): recover it from a linear probe of the layer.
    const kernel = layer.getWeights()[0]! as tf.Tensor4D;
    const sigma = largestSingularValue(tf.reshape(kernel, [-1, 8]) as tf.Tensor2D);
    const y = tf.tidy(() => layer.apply(x, { training: false }) as tf.Tensor);
    const plain = tf.conv2d(x as tf.Tensor4D, kernel, 2, 'same');
    const ratio = tf.tidy(() => tf.div(tf.norm(plain), tf.norm(y)).dataSync()[0]!);
    expect(ratio).toBeCloseTo(sigma, 2);
    expect(y.shape).toEqual([2, 4, 4, 8]);
    tf.dispose([x, y, plain]);
  });

  it('builds both networks with it, trains through it, and counts u as non-trainable', () => {
    const random = new SeededStepRandom(1, 3);
    const shape = { height: 32, width: 32, channels: 1 as const };
    const g = buildGenerator(generatorOptionsSchema.parse({ baseFilters: 4, spectralNorm: true }), shape);
    const d = buildDiscriminator(discriminatorOptionsSchema.parse({ baseFilters: 4, spectralNorm: true, dropout: 0 }), shape, random);
    const plainG = buildGenerator(generatorOptionsSchema.parse({ baseFilters: 4 }), shape);
    // One u vector per kernel, as long as the kernel's last dimension (in channels for transposed convs).
    expect(g.countParams() - plainG.countParams()).toBe(100 + 16 + 8 + 4);
    const z = tf.randomNormal([2, 100], 0, 1, 'float32', 2) as tf.Tensor2D;
    const images = tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor4D);
    expect(images.shape).toEqual([2, 32, 32, 1]);
    const vars = d.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.mean(d.apply(images, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    for (const v of vars) expect(tf.sum(tf.abs(grads[v.name]!)).dataSync()[0]).toBeGreaterThan(0);
    tf.dispose([z, images, value, ...Object.values(grads)]);
    [g, d, plainG].forEach((m) => m.dispose());
  });
});
