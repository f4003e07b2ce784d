import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { recalibrateBatchNorm } from './domain-classifier';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const stat = (layer: tf.layers.Layer, suffix: string) => Array.from(layer.weights.find((w) => w.originalName.endsWith(suffix))!.read().dataSync());

describe('recalibrateBatchNorm', () => {
  it("sets each BatchNorm layer's moving statistics to its input's exact moments, later layers seeing the earlier ones recalibrated", async () => {
    const input = tf.input({ shape: [6, 6, 2] });
    const first = tf.layers.batchNormalization({ momentum: 0.9 });
    const conv = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) });
    const second = tf.layers.batchNormalization({ momentum: 0.9 });
    const output = second.apply(conv.apply(first.apply(input))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: output });
    const images = tf.add(tf.mul(tf.randomNormal([10, 6, 6, 2], 0, 1, 'float32', 3), 2), 5) as tf.Tensor4D;

    const before = tf.memory().numTensors;
    // Chunks of 4 images (4, 4, 2): the pooled moments must equal those of the whole batch.
    await recalibrateBatchNorm(model, images, 4);
    expect(tf.memory().numTensors).toBe(before);

    const whole = tf.moments(images, [0, 1, 2]);
    expect(stat(first, 'moving_mean')).toEqual(Array.from(whole.mean.dataSync()).map((v) => expect.closeTo(v, 5)));
    expect(stat(first, 'moving_variance')).toEqual(Array.from(whole.variance.dataSync()).map((v) => expect.closeTo(v, 4)));
    // The second layer's input, with the first normalising by its new statistics (inference mode).
    const probe = tf.model({ inputs: input, outputs: conv.output as tf.SymbolicTensor });
    const inner = tf.moments(probe.predict(images) as tf.Tensor, [0, 1, 2]);
    expect(stat(second, 'moving_mean')).toEqual(Array.from(inner.mean.dataSync()).map((v) => expect.closeTo(v, 5)));
    expect(stat(second, 'moving_variance')).toEqual(Array.from(inner.variance.dataSync()).map((v) => expect.closeTo(v, 5)));
    tf.dispose([images, whole.mean, whole.variance, inner.mean, inner.variance]);
    model.dispose();
  });
});
