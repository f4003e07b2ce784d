import * as tf from '@tensorflow/tfjs';
import { SeededStepRandom } from '@duel/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { SeededDropout } from './seeded-dropout';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function maskOf(layer: SeededDropout, shape = [64, 1000]): Float32Array {
  return tf.tidy(() => (layer.apply(tf.ones(shape), { training: true }) as tf.Tensor).dataSync() as Float32Array);
}

describe('SeededDropout', () => {
  it('drops ~30% of units and scales the kept ones by 1 / (1 - p)', () => {
    const layer = new SeededDropout({ rate: 0.3, random: new SeededStepRandom(5, 3) });
    const values = maskOf(layer);
    const dropped = values.filter((v) => v === 0).length / values.length;
    // 64,000 Bernoulli(0.3) draws: standard deviation 0.0018.
    expect(Math.abs(dropped - 0.3)).toBeLessThan(0.01);
    for (const v of values) if (v !== 0) expect(v).toBeCloseTo(1 / 0.7, 6);
  });

  it('draws a fresh mask per call, the same masks again when the step is replayed', () => {
    const random = new SeededStepRandom(42, 3);
    const layer = new SeededDropout({ rate: 0.3, random });
    random.begin(7);
    const first = maskOf(layer, [4, 256]);
    const second = maskOf(layer, [4, 256]);
    expect(first).not.toEqual(second);
    random.begin(8);
    const otherStep = maskOf(layer, [4, 256]);
    expect(otherStep).not.toEqual(first);
    // A resumed run restarts the source at step 7: the same masks, in the same order.
    const resumed = new SeededStepRandom(42, 3);
    const again = new SeededDropout({ rate: 0.3, random: resumed });
    resumed.begin(7);
    expect(maskOf(again, [4, 256])).toEqual(first);
    expect(maskOf(again, [4, 256])).toEqual(second);
  });

  it('is the identity in inference and at rate 0, and does not leak', () => {
    const layer = new SeededDropout({ rate: 0.3, random: new SeededStepRandom(1, 3) });
    const zero = new SeededDropout({
      rate: 0,
      random: {
        nextSeed: () => {
          throw new Error('rate 0 must not draw');
        },
      },
    });
    const x = tf.randomNormal([3, 5], 0, 1, 'float32', 9);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      expect((layer.apply(x, { training: false }) as tf.Tensor).dataSync()).toEqual(x.dataSync());
      expect((zero.apply(x, { training: true }) as tf.Tensor).dataSync()).toEqual(x.dataSync());
      layer.apply(x, { training: true });
    });
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('refuses to train without step randomness, and serialises its rate', () => {
    const layer = new SeededDropout({ rate: 0.25, name: 'drop' });
    expect(() => tf.tidy(() => layer.apply(tf.ones([2, 2]), { training: true }) as tf.Tensor)).toThrow(/no step randomness/);
    const config = layer.getConfig();
    expect(config['rate']).toBe(0.25);
    const rebuilt = tf.serialization.SerializationMap.getMap().classNameMap['SeededDropout']!;
    expect(rebuilt).toBeDefined();
    expect(() => new SeededDropout({ rate: 1 })).toThrow(RangeError);
  });
});
