import * as tf from '@tensorflow/tfjs';
import { Container } from 'inversify';
import { PluginToken } from '@duel/core';
import type { AnyPlugin, Optimizer } from '@duel/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { adam, makeSchedule, optimModule, rmsprop, scheduleSchema, sgd } from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

type Plugin = typeof adam | typeof rmsprop | typeof sgd;
const make = (plugin: Plugin, options: Record<string, unknown> = {}) => plugin.create(plugin.options.parse(options) as never, undefined) as Optimizer;
const values = (v: tf.Tensor) => Array.from(v.dataSync());

/** Runs `steps` updates of x0 with the gradients given per step; returns the values after each. */
function run(optimizer: Optimizer, x0: number[], grads: number[][]): number[][] {
  const x = tf.variable(tf.tensor1d(x0));
  const out: number[][] = [];
  for (const g of grads) {
    const gt = tf.tensor1d(g);
    optimizer.applyGradients([x], [gt]);
    gt.dispose();
    out.push(values(x));
  }
  x.dispose();
  optimizer.dispose();
  return out;
}

const x0 = [1, -2];
const grads = [
  [0.5, 0.1],
  [-0.2, 0.4],
  [0.3, -0.3],
];

describe('adam (Keras 3 formula)', () => {
  it('matches lr_t = lr sqrt(1 - b2^t) / (1 - b1^t), var -= lr_t m / (sqrt(v) + eps)', () => {
    const [lr, b1, b2, eps] = [0.01, 0.5, 0.999, 1e-7];
    const m = [0, 0];
    const v = [0, 0];
    const x = [...x0];
    const expected = grads.map((g, step) => {
      const t = step + 1;
      const lrT = (lr * Math.sqrt(1 - b2 ** t)) / (1 - b1 ** t);
      return x.map((_, i) => {
        m[i]! += (g[i]! - m[i]!) * (1 - b1);
        v[i]! += (g[i]! ** 2 - v[i]!) * (1 - b2);
        x[i]! -= (lrT * m[i]!) / (Math.sqrt(v[i]!) + eps);
        return x[i]!;
      });
    });
    const actual = run(make(adam, { learningRate: lr, beta1: b1, beta2: b2 }), x0, grads);
    actual.forEach((row, t) => row.forEach((a, i) => expect(a).toBeCloseTo(expected[t]![i]!, 6)));
  });

  it('differs from tfjs-core Adam, which puts epsilon on the bias-corrected root', () => {
    const g = 1e-3;
    const [after] = run(make(adam, { learningRate: 0.1 }), [0], [[g]]);
    // Keras, t = 1: m = 0.1 g, v = 0.001 g^2, lr_t = 0.1 sqrt(0.001) / 0.1.
    const keras = -((0.1 * Math.sqrt(0.001)) / 0.1) * ((0.1 * g) / (Math.sqrt(0.001 * g * g) + 1e-7));
    // (float32 1 - beta2^t, as Keras computes it, moves the step by ~6e-6 relative.)
    expect(after![0]).toBeCloseTo(keras, 5);
    const x = tf.variable(tf.scalar(0));
    const tfjs = tf.train.adam(0.1, 0.9, 0.999, 1e-7);
    tfjs.applyGradients([{ name: x.name, tensor: tf.scalar(g) }]);
    // tfjs: lr m_hat / (sqrt(v_hat) + eps) with m_hat = g, v_hat = g^2: a step of -0.0999900.
    expect(Math.abs(x.dataSync()[0]! - keras)).toBeGreaterThan(2e-4);
    tfjs.dispose();
    x.dispose();
  });
});

describe('rmsprop and sgd (Keras 3 formulas)', () => {
  it('rmsprop: v = rho v + (1 - rho) g^2; var -= lr g / sqrt(v + eps)', () => {
    const [lr, rho, eps] = [0.01, 0.9, 1e-7];
    const v = [0, 0];
    const x = [...x0];
    const expected = grads.map((g) =>
      x.map((_, i) => {
        v[i] = rho * v[i]! + (1 - rho) * g[i]! ** 2;
        x[i]! -= (lr * g[i]!) / Math.sqrt(v[i]! + eps);
        return x[i]!;
      }),
    );
    run(make(rmsprop, { learningRate: lr }), x0, grads).forEach((row, t) => row.forEach((a, i) => expect(a).toBeCloseTo(expected[t]![i]!, 5)));
  });

  it('sgd with momentum and Nesterov: m = mu m - lr g; var += mu m - lr g', () => {
    const [lr, mu] = [0.1, 0.9];
    const m = [0, 0];
    const x = [...x0];
    const expected = grads.map((g) =>
      x.map((_, i) => {
        m[i] = mu * m[i]! - lr * g[i]!;
        x[i]! += mu * m[i]! - lr * g[i]!;
        return x[i]!;
      }),
    );
    run(make(sgd, { learningRate: lr, momentum: mu, nesterov: true }), x0, grads).forEach((row, t) => row.forEach((a, i) => expect(a).toBeCloseTo(expected[t]![i]!, 6)));
    expect(run(make(sgd, { learningRate: 0.5 }), [1], [[2]])[0]![0]).toBeCloseTo(0, 6);
  });

  it('clips by norm per tensor (Keras clipnorm) and refuses two clip rules', () => {
    // g = [3, 4], norm 5, clipNorm 1 -> [0.6, 0.8]; SGD lr 1 moves x by minus that.
    const [after] = run(make(sgd, { learningRate: 1, clipNorm: 1 }), [0, 0], [[3, 4]]);
    expect(after![0]).toBeCloseTo(-0.6, 6);
    expect(after![1]).toBeCloseTo(-0.8, 6);
    expect(sgd.options.safeParse({ clipNorm: 1, clipValue: 1 }).success).toBe(false);
  });
});

describe('schedules', () => {
  const rate = (options: unknown, epoch: number, total = 10) => makeSchedule(scheduleSchema.parse(options)).rate(epoch, 1, total);
  it('step, exponential, cosine and linear warm-up', () => {
    expect([0, 1, 2, 3, 4].map((e) => rate({ kind: 'step', everyEpochs: 2, factor: 0.5 }, e))).toEqual([1, 1, 0.5, 0.5, 0.25]);
    expect(rate({ kind: 'exponential', decay: 0.9 }, 3)).toBeCloseTo(0.729, 10);
    expect(rate({ kind: 'cosine' }, 0, 11)).toBe(1);
    expect(rate({ kind: 'cosine' }, 5, 11)).toBeCloseTo(0.5, 10);
    expect(rate({ kind: 'cosine', minRate: 0.1 }, 10, 11)).toBeCloseTo(0.1, 10);
    expect([0, 1, 3, 9].map((e) => rate({ kind: 'linear-warmup', warmupEpochs: 4 }, e))).toEqual([0.25, 0.5, 1, 1]);
    expect(scheduleSchema.safeParse({ kind: 'sometimes' }).success).toBe(false);
  });

  it('beginEpoch sets the rate the next update uses', () => {
    const optimizer = make(sgd, { learningRate: 1, schedule: { kind: 'step', everyEpochs: 1, factor: 0.1 } });
    optimizer.beginEpoch!(2, 5);
    expect(optimizer.learningRate).toBeCloseTo(0.01, 12);
    expect(run(optimizer, [0], [[1]])[0]![0]).toBeCloseTo(-0.01, 7);
  });
});

describe('state', () => {
  const cases: [string, Plugin, Record<string, unknown>][] = [
    ['adam', adam, { amsgrad: true }],
    ['rmsprop', rmsprop, { momentum: 0.5, centered: true }],
    ['sgd', sgd, { momentum: 0.9 }],
    ['sgd without slots', sgd, {}],
  ];
  it.each(cases)('%s: a restored optimizer continues exactly where the saved one was', (_name, plugin, options) => {
    const a = make(plugin, options);
    const xa = tf.variable(tf.tensor2d([[1, 2], [3, 4]]));
    const step = (o: Optimizer, x: tf.Variable, g: number[]) => tf.tidy(() => o.applyGradients([x], [tf.tensor2d(g, [2, 2])]));
    step(a, xa, [0.1, -0.2, 0.3, 0.4]);
    step(a, xa, [-0.5, 0.2, 0.1, 0.0]);
    const state = a.getState();
    expect(state.iterations).toBe(2);
    const xb = tf.variable(xa.clone());
    const b = make(plugin, options);
    b.setState(state, [xb]);
    tf.dispose(Object.values(state.tensors)); // setState copies
    const before = tf.memory().numTensors;
    step(a, xa, [0.3, 0.3, -0.3, 0.1]);
    step(b, xb, [0.3, 0.3, -0.3, 0.1]);
    expect(tf.memory().numTensors).toBe(before);
    expect(values(xb)).toEqual(values(xa));
    expect(b.iterations).toBe(3);
    a.dispose();
    b.dispose();
    tf.dispose([xa, xb]);
  });

  it('rejects a state that does not fit the variables', () => {
    const a = make(adam);
    const x = tf.variable(tf.zeros([3]));
    tf.tidy(() => a.applyGradients([x], [tf.ones([3])]));
    const state = a.getState();
    const other = make(adam);
    expect(() => other.setState(state, [tf.variable(tf.zeros([4]))])).toThrow(/shape/);
    expect(() => other.setState({ iterations: 1, tensors: { ...state.tensors, 'x/0': tf.zeros([3]) } }, [x])).toThrow(/unknown/);
    expect(() => a.applyGradients([x], [tf.ones([2])])).toThrow(/shape/);
    tf.dispose(Object.values(state.tensors));
    a.dispose();
    other.dispose();
  });

  it('keeps a fixed number of tensors across updates, and dispose frees them', () => {
    const x = tf.variable(tf.zeros([5]));
    const g = tf.ones([5]);
    const start = tf.memory().numTensors;
    const o = make(adam, { globalClipNorm: 1 });
    o.applyGradients([x], [g]);
    const afterFirst = tf.memory().numTensors;
    expect(afterFirst - start).toBe(2); // m and v
    for (let i = 0; i < 5; i++) o.applyGradients([x], [g]);
    expect(tf.memory().numTensors).toBe(afterFirst);
    o.dispose();
    expect(tf.memory().numTensors).toBe(start);
    tf.dispose([x, g]);
  });
});

describe('optimModule', () => {
  it('binds adam, rmsprop and sgd', async () => {
    const container = new Container();
    await container.load(optimModule);
    expect(container.getAll<AnyPlugin>(PluginToken).map((p) => p.name).sort()).toEqual(['adam', 'rmsprop', 'sgd']);
    expect(adam.options.parse({})).toMatchObject({ learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-7, amsgrad: false, schedule: { kind: 'constant' } });
  });
});
