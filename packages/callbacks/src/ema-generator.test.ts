import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrainingView } from '@duel/core';
import { EmaGenerator, emaGeneratorOptions, withWeights } from './ema-generator';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const network = () => tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 2, kernelInitializer: 'zeros', biasInitializer: 'zeros' })] });
const view = (generator: tf.LayersModel) => ({ generator }) as unknown as TrainingView;
const first = (t: tf.Tensor) => t.dataSync()[0]!;

describe('ema-generator', () => {
  it('averages every weight with the warm-up decay min(decay, (1 + t) / (10 + t)), on the device without leaks', () => {
    const g = network();
    const ema = new EmaGenerator(emaGeneratorOptions.parse({ decay: 0.5 }));
    ema.onTrainStart(view(g));
    let expected = 0;
    const before = tf.memory().numTensors;
    for (let t = 0; t < 4; t++) {
      const w = t + 1;
      g.weights.forEach((v) => {
        const value = tf.fill(v.shape as number[], w);
        v.write(value);
        value.dispose();
      });
      const decay = Math.min(0.5, (1 + t) / (10 + t));
      expected = decay * expected + (1 - decay) * w;
      ema.onStepEnd(view(g));
    }
    expect(tf.memory().numTensors).toBe(before);
    const saved = ema.state.saveState();
    expect(Object.keys(saved.tensors!)).toHaveLength(2);
    expect(first(saved.tensors!['0']!)).toBeCloseTo(expected, 6);
    expect(saved.data).toEqual({ updates: 4 });
    tf.dispose(Object.values(saved.tensors!));
  });

  it('restores its average and update count from a checkpoint, and swaps weights in and back out', async () => {
    const g = network();
    const ema = new EmaGenerator(emaGeneratorOptions.parse({}));
    ema.state.restoreState({ tensors: { '0': tf.fill([2, 2], 3), '1': tf.fill([2], 3) }, data: { updates: 9 } }, 'resume');
    ema.onTrainStart(view(g));
    const saved = ema.state.saveState();
    expect(first(saved.tensors!['1']!)).toBe(3);
    expect(saved.data).toEqual({ updates: 9 });
    const seen = await withWeights(g, Object.values(saved.tensors!), async () => first(g.weights[0]!.read()));
    expect(seen).toBe(3);
    expect(first(g.weights[0]!.read())).toBe(0);
  });

  it("refuses a checkpoint's average that does not fit the generator", () => {
    const ema = new EmaGenerator(emaGeneratorOptions.parse({}));
    ema.state.restoreState({ tensors: { '0': tf.fill([2, 2], 3) }, data: { updates: 1 } }, 'resume');
    expect(() => ema.onTrainStart(view(network()))).toThrow(/average has 1 weights, the generator 2/);
  });
});
