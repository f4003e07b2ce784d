import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AugmentationDraw } from '@duel/core';
import { DiffAugment, diffAugmentOptions, InstanceNoise, instanceNoiseOptions, instanceNoiseSigma } from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const draw = (seed: number, epochs = 0, totalEpochs = 10): AugmentationDraw => ({ seed, step: 0, epochs, totalEpochs });
/** Images with no zero pixel, so a zero in the output can only be a shifted-in or cut-out pixel. */
const images = (batch: number, side: number, channels = 1) => tf.add(tf.randomUniform([batch, side, side, channels], -1, 1, 'float32', 3), 3) as tf.Tensor4D;
const diff = (options: Record<string, unknown>) => new DiffAugment(diffAugmentOptions.parse(options));

/** The shift (dy, dx) that turns `input` into `output` with zeros shifted in, if any. */
function findShift(input: number[][], output: number[][], limit: number): [number, number] | undefined {
  const side = input.length;
  for (let dy = -limit; dy <= limit; dy++) {
    for (let dx = -limit; dx <= limit; dx++) {
      let ok = true;
      for (let y = 0; y < side && ok; y++) {
        for (let x = 0; x < side && ok; x++) {
          const sy = y - dy;
          const sx = x - dx;
          const expected = sy >= 0 && sy < side && sx >= 0 && sx < side ? input[sy]![sx]! : 0;
          ok = output[y]![x] === expected;
        }
      }
      if (ok) return [dy, dx];
    }
  }
  return undefined;
}

describe('diffaugment', () => {
  it('translation moves each image by at most 1/8 of its side, zeros shifted in, different shifts per image', () => {
    const x = images(16, 16);
    const y = diff({ policy: ['translation'] }).apply(x, draw(1));
    const inputs = x.squeeze([3]).arraySync() as number[][][];
    const outputs = y.squeeze([3]).arraySync() as number[][][];
    const shifts = inputs.map((input, i) => findShift(input, outputs[i]!, 2));
    expect(shifts.every((s) => s !== undefined)).toBe(true);
    expect(new Set(shifts.map((s) => s!.join(','))).size).toBeGreaterThan(4);
  });

  it('cutout zeroes one square of half the side (clipped at the border) and leaves the rest', () => {
    const x = images(16, 16);
    const inputs = x.squeeze([3]).arraySync() as number[][][];
    const outputs = diff({ policy: ['cutout'] }).apply(x, draw(2)).squeeze([3]).arraySync() as number[][][];
    let unclipped = 0;
    outputs.forEach((image, i) => {
      const zeros: [number, number][] = [];
      image.forEach((row, r) => row.forEach((v, c) => (v === 0 ? zeros.push([r, c]) : expect(v).toBe(inputs[i]![r]![c]))));
      const rows = zeros.map((z) => z[0]);
      const cols = zeros.map((z) => z[1]);
      const height = Math.max(...rows) - Math.min(...rows) + 1;
      const width = Math.max(...cols) - Math.min(...cols) + 1;
      // A filled rectangle no bigger than 8x8.
      expect(zeros.length).toBe(height * width);
      expect(height).toBeLessThanOrEqual(8);
      expect(width).toBeLessThanOrEqual(8);
      if (zeros.length === 64) unclipped++;
    });
    expect(unclipped).toBeGreaterThan(0);
  });

  it('colour changes each image by a brightness shift in [-0.5, 0.5] and a contrast factor in [0.5, 1.5]', () => {
    const x = images(8, 8);
    const y = diff({ policy: ['color'] }).apply(x, draw(3));
    const mx = tf.mean(x, [1, 2, 3]).arraySync() as number[];
    const my = tf.mean(y, [1, 2, 3]).arraySync() as number[];
    const ratio = tf.div(tf.sub(y, tf.mean(y, [1, 2, 3], true)), tf.sub(x, tf.mean(x, [1, 2, 3], true))).reshape([8, -1]).arraySync() as number[][];
    mx.forEach((m, i) => {
      const brightness = my[i]! - m;
      expect(Math.abs(brightness)).toBeLessThanOrEqual(0.5 + 1e-6);
      const contrast = ratio[i]![0]!;
      expect(contrast).toBeGreaterThanOrEqual(0.5 - 1e-5);
      expect(contrast).toBeLessThanOrEqual(1.5 + 1e-5);
      // One factor for the whole image: an affine map, not a per-pixel one.
      for (const r of ratio[i]!) expect(r).toBeCloseTo(contrast, 3);
    });
  });

  it('on colour images saturation scales each pixel around its channel mean, which it keeps', () => {
    const x = images(4, 8, 3);
    const y = diff({ policy: ['color'] }).apply(x, draw(4));
    expect(y.shape).toEqual([4, 8, 8, 3]);
    // Channel spread changes by saturation x contrast; the grey image follows brightness and contrast alone.
    const spreadX = tf.sub(x, tf.mean(x, 3, true));
    const spreadY = tf.sub(y, tf.mean(y, 3, true));
    const factor = tf.div(spreadY, spreadX).reshape([4, -1]).arraySync() as number[][];
    for (const row of factor) for (const f of row) expect(f).toBeCloseTo(row[0]!, 3);
  });

  it('the same seed gives the same batch, another seed another; nothing leaks', () => {
    const augment = diff({});
    const x = images(8, 16);
    const before = tf.memory().numTensors;
    const a = augment.apply(x, draw(5));
    const b = augment.apply(x, draw(5));
    const c = augment.apply(x, draw(6));
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  it('is differentiable: the gradient of the sum reaches exactly the pixels that were kept', () => {
    const augment = diff({ policy: ['translation', 'cutout'] });
    const x = images(8, 16);
    const kept = tf.sum(tf.cast(tf.notEqual(augment.apply(x, draw(7)), 0), 'float32')).dataSync()[0]!;
    const grad = tf.grad((input: tf.Tensor) => tf.sum(augment.apply(input as tf.Tensor4D, draw(7))))(x);
    const values = Array.from(grad.dataSync());
    expect(values.every((v) => v === 0 || v === 1)).toBe(true);
    expect(values.reduce((s, v) => s + v, 0)).toBe(kept);
    expect(kept).toBeGreaterThan(0);
  });

  it('rejects options out of range, naming them', () => {
    const parsed = diffAugmentOptions.safeParse({ policy: ['colour'], translation: 0.9 });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues.map((i) => i.path.join('.')).sort()).toEqual(['policy.0', 'translation']);
  });
});

describe('instance noise', () => {
  it('anneals sigma linearly to zero over the run, or over annealEpochs, or not at all', () => {
    const options = instanceNoiseOptions.parse({ sigma: 0.2 });
    expect(instanceNoiseSigma(options, { epochs: 0, totalEpochs: 10 })).toBeCloseTo(0.2, 12);
    expect(instanceNoiseSigma(options, { epochs: 5, totalEpochs: 10 })).toBeCloseTo(0.1, 12);
    expect(instanceNoiseSigma(options, { epochs: 10, totalEpochs: 10 })).toBe(0);
    expect(instanceNoiseSigma(instanceNoiseOptions.parse({ sigma: 0.2, annealEpochs: 2 }), { epochs: 3, totalEpochs: 10 })).toBe(0);
    expect(instanceNoiseSigma(instanceNoiseOptions.parse({ sigma: 0.2, annealEpochs: 0 }), { epochs: 9, totalEpochs: 10 })).toBe(0.2);
  });

  it('adds Gaussian noise of that sigma, seeded, and none once annealed', () => {
    const noise = new InstanceNoise(instanceNoiseOptions.parse({ sigma: 0.3 }));
    const x = tf.zeros([16, 16, 16, 1]) as tf.Tensor4D;
    const y = noise.apply(x, draw(8, 0));
    const values = Array.from(y.dataSync());
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    const sd = Math.sqrt(values.reduce((s, v) => s + (v - mean) ** 2, 0) / values.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(sd).toBeGreaterThan(0.28);
    expect(sd).toBeLessThan(0.32);
    expect(Array.from(noise.apply(x, draw(8, 0)).dataSync())).toEqual(values);
    expect(noise.apply(x, draw(8, 10))).toBe(x);
  });
});
