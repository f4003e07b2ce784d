import * as tf from '@tensorflow/tfjs';
import { Container } from 'inversify';
import { PluginToken } from '@duel/core';
import type { AnyPlugin, DiscriminatorLossInput, GanLoss } from '@duel/core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bceLabelNoise,
  binaryCrossentropy,
  gradientPenalty,
  hinge,
  leastSquares,
  lossesModule,
  nonSaturating,
  oneSidedLabelSmoothing,
  wganGp,
} from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const col = (values: number[]) => tf.tensor2d(values, [values.length, 1]);
const value = (t: tf.Tensor) => t.dataSync()[0]!;
const bce = (y: number, p: number) => {
  const q = Math.min(Math.max(p, 1e-7), 1 - 1e-7);
  return -(y * Math.log(q) + (1 - y) * Math.log(1 - q));
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

/** A loss input whose uniform source hands out fixed draws and records the shapes asked for. */
function input(real: number[], fake: number[], draws: number[][] = []): DiscriminatorLossInput & { asked: number[][] } {
  const asked: number[][] = [];
  const queue = [...draws];
  const images = tf.zeros([real.length, 2, 2, 1]) as tf.Tensor4D;
  return {
    real: col(real),
    fake: col(fake),
    realImages: images,
    fakeImages: images,
    discriminate: () => {
      throw new Error('not used');
    },
    uniform: (shape) => {
      asked.push(shape);
      const next = queue.shift();
      if (!next) throw new Error('no more draws');
      return tf.tensor(next, shape);
    },
    asked,
  };
}

function make(plugin: { create(o: never, c: never): unknown; options: { parse(o: unknown): unknown } }, options: Record<string, unknown> = {}): GanLoss {
  return plugin.create(plugin.options.parse(options) as never, undefined as never) as GanLoss;
}

describe('binaryCrossentropy (Keras 3 semantics)', () => {
  it('averages -(y log p + (1 - y) log(1 - p)) over the batch', () => {
    expect(value(binaryCrossentropy(col([1, 0]), col([0.8, 0.3])))).toBeCloseTo((-Math.log(0.8) - Math.log(0.7)) / 2, 6);
  });

  it('clips predictions to [1e-7, 1 - 1e-7] and accepts targets outside [0, 1]', () => {
    expect(value(binaryCrossentropy(col([1]), col([0])))).toBeCloseTo(-Math.log(1e-7), 4);
    expect(value(binaryCrossentropy(col([0]), col([1])))).toBeCloseTo(-Math.log(1.1920929e-7), 3);
    // A noisy real target 1.05 against p = 0.9: a slightly negative loss, as in Keras.
    expect(value(binaryCrossentropy(col([1.05]), col([0.9])))).toBeCloseTo(bce(1.05, 0.9), 6);
    expect(bce(1.05, 0.9)).toBeLessThan(0);
  });

  it('passes no gradient to predictions outside the clip range', () => {
    const g = tf.grad((p: tf.Tensor) => binaryCrossentropy(col([1, 1]), p))(col([0, 0.5]));
    expect(Array.from(g.dataSync())).toEqual([0, expect.closeTo(-1 / 0.5 / 2, 5)]);
  });
});

describe('bce-label-noise (the book)', () => {
  it('draws U for the real targets, then the fake ones, and averages the two BCEs', () => {
    const loss = make(bceLabelNoise);
    const x = input([0.9, 0.6], [0.2, 0.4], [[0.5, 1.0], [0.0, 0.3]]);
    const d = value(loss.discriminatorLoss(x));
    // real targets 1 + 0.1 U = [1.05, 1.1]; fake targets -0.1 U = [0, -0.03]
    const expected = (mean([bce(1.05, 0.9), bce(1.1, 0.6)]) + mean([bce(0, 0.2), bce(-0.03, 0.4)])) / 2;
    expect(d).toBeCloseTo(expected, 6);
    expect(x.asked).toEqual([[2, 1], [2, 1]]);
    expect(value(loss.generatorLoss(col([0.2, 0.4])))).toBeCloseTo(mean([-Math.log(0.2), -Math.log(0.4)]), 6);
    expect(loss.expects).toBe('probability');
    expect(bceLabelNoise.expects).toBe('probability');
  });

  it('rejects negative noise and defaults to 0.1', () => {
    expect(bceLabelNoise.options.safeParse({ noise: -0.1 }).success).toBe(false);
    expect(bceLabelNoise.options.parse({})).toEqual({ noise: 0.1 });
  });
});

describe('stabilisers', () => {
  it('one-sided label smoothing: real targets 1 - s, fake 0', () => {
    const loss = make(oneSidedLabelSmoothing, { smoothing: 0.2 });
    const expected = (mean([bce(0.8, 0.9), bce(0.8, 0.6)]) + mean([bce(0, 0.2), bce(0, 0.4)])) / 2;
    expect(value(loss.discriminatorLoss(input([0.9, 0.6], [0.2, 0.4])))).toBeCloseTo(expected, 6);
  });

  it('non-saturating: plain BCE', () => {
    const loss = make(nonSaturating);
    const expected = (mean([bce(1, 0.9), bce(1, 0.6)]) + mean([bce(0, 0.2), bce(0, 0.4)])) / 2;
    expect(value(loss.discriminatorLoss(input([0.9, 0.6], [0.2, 0.4])))).toBeCloseTo(expected, 6);
  });

  it('hinge on logits', () => {
    const loss = make(hinge);
    // relu(1 - [2, 0.5]) = [0, 0.5]; relu(1 + [-3, 0.5]) = [0, 1.5]
    expect(value(loss.discriminatorLoss(input([2, 0.5], [-3, 0.5])))).toBeCloseTo(0.25 + 0.75, 6);
    expect(value(loss.generatorLoss(col([-3, 0.5])))).toBeCloseTo(1.25, 6);
    expect(loss.expects).toBe('logit');
  });

  it('least squares on logits', () => {
    const loss = make(leastSquares);
    // 0.5 mean((real - 1)^2) + 0.5 mean(fake^2)
    expect(value(loss.discriminatorLoss(input([2, 0.5], [-3, 0.5])))).toBeCloseTo(0.5 * mean([1, 0.25]) + 0.5 * mean([9, 0.25]), 6);
    expect(value(loss.generatorLoss(col([-3, 0.5])))).toBeCloseTo(0.5 * mean([16, 0.25]), 6);
  });
});

describe('wgan-gp', () => {
  // A linear critic D(x) = sum(w * x): grad_x D = w for every sample, so the
  // penalty is (||w|| - 1)^2 and its gradient over w is 2 (||w|| - 1) w / ||w||.
  const w0 = [0.3, -1.2, 0.5, 2.0];
  const norm = Math.hypot(...w0);

  function linearInput(w: tf.Variable, draws: number[][]): DiscriminatorLossInput {
    const realImages = tf.tensor4d([1, 2, 3, 4, -1, 0, 1, 0], [2, 2, 2, 1]);
    const fakeImages = tf.tensor4d([0, 1, 0, -2, 3, 1, 1, 1], [2, 2, 2, 1]);
    const critic = (x: tf.Tensor4D) => tf.sum(tf.mul(x, tf.reshape(w, [1, 2, 2, 1])), [1, 2, 3]).reshape([-1, 1]);
    const queue = [...draws];
    return {
      real: critic(realImages),
      fake: critic(fakeImages),
      realImages,
      fakeImages,
      discriminate: critic,
      uniform: (shape) => tf.tensor(queue.shift()!, shape),
    };
  }

  it('adds lambda (||grad D(x_hat)|| - 1)^2 to D(fake) - D(real), differentiable in the weights (second order)', () => {
    const w = tf.variable(tf.tensor1d(w0));
    const loss = make(wganGp, { penaltyWeight: 10 });
    const { value: l, grads } = tf.variableGrads(() => loss.discriminatorLoss(linearInput(w, [[0.25, 0.75]])), [w]);
    // D(real) = [0.3 - 2.4 + 1.5 + 8, -0.3 + 0.5] = [7.4, 0.2]; D(fake) = [-1.2 - 4, 0.9 - 1.2 + 0.5 + 2] = [-5.2, 2.2]
    expect(value(l)).toBeCloseTo(mean([-5.2, 2.2]) - mean([7.4, 0.2]) + 10 * (norm - 1) ** 2, 4);
    const meanFake = [1.5, 1, 0.5, -0.5].map((x, i) => x - [0, 1, 2, 2][i]!); // mean(fake) - mean(real) per pixel
    const expected = w0.map((wi, i) => meanFake[i]! + 10 * 2 * (norm - 1) * (wi / norm));
    Array.from(grads[w.name]!.dataSync()).forEach((g, i) => expect(g).toBeCloseTo(expected[i]!, 3));
    expect(loss.expects).toBe('logit');
    expect(value(loss.generatorLoss(col([-5.2, 2.2])))).toBeCloseTo(1.5, 6);
    tf.dispose([w, l, ...Object.values(grads)]);
  });

  it("mixes with a ~ N(0, 1) from two uniform draws in the book's 'normal' mode", () => {
    const w = tf.variable(tf.tensor1d(w0));
    let draws = 0;
    const base = linearInput(w, []);
    const counting = { ...base, uniform: (shape: number[]) => (draws++, tf.fill(shape, 0.5)) };
    expect(value(gradientPenalty(counting, 'normal'))).toBeCloseTo((norm - 1) ** 2, 4);
    expect(draws).toBe(2);
    expect(wganGp.options.parse({})).toEqual({ penaltyWeight: 10, mixing: 'uniform' });
    w.dispose();
  });
});

describe('lossesModule', () => {
  it('binds every loss; none leaks tensors', async () => {
    const container = new Container();
    await container.load(lossesModule);
    const plugins = container.getAll<AnyPlugin>(PluginToken);
    expect(plugins.map((p) => p.name).sort()).toEqual(['bce-label-noise', 'hinge', 'least-squares', 'non-saturating', 'one-sided-label-smoothing', 'wgan-gp']);
    const x = input([0.9, 0.6], [0.2, 0.4], [[0.5, 1.0], [0.0, 0.3]]);
    const before = tf.memory().numTensors;
    for (const plugin of plugins) {
      if (plugin.name === 'wgan-gp') continue; // needs a critic; covered above
      const loss = plugin.create(plugin.options.parse({}), undefined) as GanLoss;
      const fresh = { ...x, uniform: (shape: number[]) => tf.fill(shape, 0.5) };
      tf.dispose([loss.discriminatorLoss(fresh), loss.generatorLoss(x.fake)]);
    }
    expect(tf.memory().numTensors).toBe(before);
  });
});
