import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels, WASM_ADDED_KERNELS } from './wasm-kernels';

/** Deterministic pseudo-random values, the same on every backend. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

function size(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Runs `f` on a backend and returns its results as plain arrays. */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor[]): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const before = tf.memory().numTensors;
  const outs = tf.tidy(f);
  const data = outs.map((t) => t.dataSync() as Float32Array);
  tf.dispose(outs);
  expect(tf.memory().numTensors).toBe(before);
  return data;
}

function expectClose(actual: Float32Array[], expected: Float32Array[], tolerance = 1e-4): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, i) => {
    const e = expected[i]!;
    expect(a.length).toBe(e.length);
    let worst = 0;
    let scale = 1e-6;
    for (let j = 0; j < a.length; j++) {
      worst = Math.max(worst, Math.abs(a[j]! - e[j]!));
      scale = Math.max(scale, Math.abs(e[j]!));
    }
    expect(worst / scale, `output ${i}: max |diff| ${worst} vs max |expected| ${scale}`).toBeLessThan(tolerance);
  });
}

beforeAll(async () => {
  registerWasmTrainingKernels();
  await tf.setBackend('wasm');
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('wasm training kernels', () => {
  it('registers what wasm lacks, and nothing it has', () => {
    for (const name of WASM_ADDED_KERNELS) expect(tf.getKernel(name, 'wasm')).toBeDefined();
    expect(WASM_ADDED_KERNELS).toEqual([tf.Conv2DBackpropFilter]);
  });

  const cases: { name: string; x: [number, number, number, number]; filter: [number, number, number, number]; strides: number; pad: 'same' | 'valid' }[] = [
    { name: 'stride 2 same, one channel in (first D layer)', x: [2, 8, 8, 1], filter: [4, 4, 1, 3], strides: 2, pad: 'same' },
    { name: 'stride 2 same', x: [3, 6, 6, 4], filter: [4, 4, 4, 5], strides: 2, pad: 'same' },
    { name: 'stride 1 valid (last D layer)', x: [2, 4, 4, 6], filter: [4, 4, 6, 1], strides: 1, pad: 'valid' },
    { name: 'odd size, 3x3, stride 2 same', x: [2, 7, 5, 2], filter: [3, 3, 2, 3], strides: 2, pad: 'same' },
  ];

  for (const c of cases) {
    it(`Conv2DBackpropFilter matches cpu: ${c.name}`, async () => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
      const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]];
      const xv = values(size(c.x), 1);
      const dyv = values(size(dyShape), 2);
      const run = () => [
        tf.engine().runKernel(tf.Conv2DBackpropFilter, { x: tf.tensor(xv, c.x), dy: tf.tensor(dyv, dyShape) }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', filterShape: c.filter }) as tf.Tensor,
      ];
      expectClose(await on('wasm', run), await on('cpu', run));
    });

    it(`Conv2DBackpropInput (wasm's own) matches cpu: ${c.name}`, async () => {
      const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad);
      const dyShape = [c.x[0], info.outHeight, info.outWidth, c.filter[3]];
      const fv = values(size(c.filter), 3);
      const dyv = values(size(dyShape), 4);
      const run = () => [
        tf.engine().runKernel(tf.Conv2DBackpropInput, { dy: tf.tensor(dyv, dyShape), filter: tf.tensor(fv, c.filter) }, { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', inputShape: c.x }) as tf.Tensor,
      ];
      expectClose(await on('wasm', run), await on('cpu', run));
    });
  }

  it("the book's layer types give the same gradients as on cpu", async () => {
    // A miniature of both networks: transposed convs (G), conv + BatchNorm +
    // LeakyReLU + dropout with a fixed mask (D), tanh and sigmoid, BCE.
    const z = values(2 * 8, 5);
    const image = values(2 * 8 * 8 * 1, 6);
    const weights = {
      g1: values(4 * 4 * 6 * 8, 7), // conv2dTranspose 1x1x8 -> 4x4x6 (valid, stride 1)
      g2: values(4 * 4 * 1 * 6, 8), // conv2dTranspose 4x4x6 -> 8x8x1 (same, stride 2)
      d1: values(4 * 4 * 1 * 4, 9), // conv 8x8x1 -> 4x4x4
      d2: values(4 * 4 * 4 * 1, 10), // conv 4x4x4 -> 1x1x1 (valid)
      gamma: new Float32Array([1.1, 0.9, 1.2, 0.8, 1, 1.05]),
      beta: new Float32Array([0.1, -0.1, 0, 0.2, -0.2, 0.05]),
    };
    const mask = values(2 * 4 * 4 * 4, 11).map((v) => (v > -0.2 ? 1 / 0.7 : 0));
    const run = () => {
      const vars = {
        g1: tf.tensor4d(weights.g1, [4, 4, 6, 8]),
        g2: tf.tensor4d(weights.g2, [4, 4, 1, 6]),
        d1: tf.tensor4d(weights.d1, [4, 4, 1, 4]),
        d2: tf.tensor4d(weights.d2, [4, 4, 4, 1]),
        gamma: tf.tensor1d(weights.gamma),
        beta: tf.tensor1d(weights.beta),
      };
      const real = tf.tensor4d(image, [2, 8, 8, 1]);
      const dropMask = tf.tensor4d(mask, [2, 4, 4, 4]);
      const d = (x: tf.Tensor4D, d1: tf.Tensor4D, d2: tf.Tensor4D) => {
        const h = tf.mul(tf.leakyRelu(tf.fused.conv2d({ x, filter: d1, strides: 2, pad: 'same' }), 0.2), dropMask) as tf.Tensor4D;
        return tf.sigmoid(tf.reshape(tf.conv2d(h, d2, 1, 'valid'), [2, 1]));
      };
      const g = (g1: tf.Tensor4D, g2: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D) => {
        let h: tf.Tensor4D = tf.conv2dTranspose(tf.reshape(tf.tensor(z), [2, 1, 1, 8]) as tf.Tensor4D, g1, [2, 4, 4, 6], 1, 'valid');
        const m = tf.moments(h, [0, 1, 2]);
        h = tf.leakyRelu(tf.batchNorm4d(h, m.mean as tf.Tensor1D, m.variance as tf.Tensor1D, beta, gamma, 1e-3), 0.2) as tf.Tensor4D;
        return tf.tanh(tf.conv2dTranspose(h, g2, [2, 8, 8, 1], 2, 'same'));
      };
      const bce = (t: number, p: tf.Tensor) => {
        const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
        return tf.neg(tf.mean(tf.add(tf.mul(t, tf.log(q)), tf.mul(1 - t, tf.log(tf.sub(1, q))))));
      };
      const dGrads = tf.grads((d1: tf.Tensor, d2: tf.Tensor) => {
        const fake = g(vars.g1, vars.g2, vars.gamma, vars.beta);
        return tf.add(bce(1, d(real, d1 as tf.Tensor4D, d2 as tf.Tensor4D)), bce(0, d(fake, d1 as tf.Tensor4D, d2 as tf.Tensor4D)));
      })([vars.d1, vars.d2]);
      const gGrads = tf.grads((g1: tf.Tensor, g2: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor) =>
        bce(1, d(g(g1 as tf.Tensor4D, g2 as tf.Tensor4D, gamma as tf.Tensor1D, beta as tf.Tensor1D), vars.d1, vars.d2)),
      )([vars.g1, vars.g2, vars.gamma, vars.beta]);
      return [...dGrads, ...gGrads];
    };
    expectClose(await on('wasm', run), await on('cpu', run), 2e-4);
  });
});
