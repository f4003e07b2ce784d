import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { encodePng, makeGrid } from './grid';
import { memorisationGrid, nearestNeighbours } from './nearest';
import { fromTensor, toTensor, toUint8, type ImageBatch } from './tensors';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** A deterministic pseudo-random batch (LCG), so failures reproduce. */
function randomBatch(count: number, height: number, width: number, channels: 1 | 3, seed: number): ImageBatch {
  let state = seed >>> 0;
  const pixels = Uint8Array.from({ length: count * height * width * channels }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state >>> 24;
  });
  return { pixels, shape: { height, width, channels } };
}

describe('toTensor / toUint8', () => {
  it('scales by (x - 127.5) / 127.5 and gathers the given indices', () => {
    const batch: ImageBatch = { pixels: Uint8Array.from([0, 255, 127, 128, 10, 20, 30, 40]), shape: { height: 2, width: 2, channels: 1 } };
    const t = toTensor(batch, [1, 0]);
    expect(t.shape).toEqual([2, 2, 2, 1]);
    expect(t.dtype).toBe('float32');
    const v = Array.from(t.dataSync());
    expect(v.slice(4)).toEqual([-1, 1, -0.5 / 127.5, 0.5 / 127.5].map(Math.fround));
    expect(v[0]).toBeCloseTo((10 - 127.5) / 127.5, 6);
    t.dispose();
    expect(() => toTensor(batch, [2])).toThrow(RangeError);
  });

  it('round-trips every level and clips out-of-range values', () => {
    const levels: ImageBatch = { pixels: Uint8Array.from({ length: 256 }, (_, i) => i), shape: { height: 16, width: 16, channels: 1 } };
    const t = toTensor(levels);
    expect(Array.from(toUint8(t))).toEqual(Array.from(levels.pixels));
    t.dispose();
    const wild = tf.tensor4d([-3, -1, 0, 1, 7, -0.999], [1, 1, 2, 3]);
    const back = fromTensor(wild);
    expect(back.shape).toEqual({ height: 1, width: 2, channels: 3 });
    expect(Array.from(back.pixels)).toEqual([0, 0, 128, 255, 255, 0]);
    wild.dispose();
  });
});

describe('makeGrid / encodePng', () => {
  it('tiles row by row with padding, empty cells padded', () => {
    const batch: ImageBatch = { pixels: Uint8Array.from([1, 2, 3]), shape: { height: 1, width: 1, channels: 1 } };
    const grid = makeGrid(batch, { rows: 2, cols: 2, pad: 1, padValue: 9 });
    expect([grid.width, grid.height, grid.channels]).toEqual([5, 5, 1]);
    // prettier-ignore
    expect(Array.from(grid.pixels)).toEqual([
      9, 9, 9, 9, 9,
      9, 1, 9, 2, 9,
      9, 9, 9, 9, 9,
      9, 3, 9, 9, 9,
      9, 9, 9, 9, 9,
    ]);
  });

  it('encodes gray and RGB PNGs that decode to the same pixels', async () => {
    const rgb = randomBatch(6, 5, 4, 3, 7);
    const grid = makeGrid(rgb, { cols: 3, pad: 2, padValue: 0 });
    expect([grid.width, grid.height]).toEqual([3 * 4 + 4 * 2, 2 * 5 + 3 * 2]);
    for (const [pixels, channels] of [
      [grid.pixels, 3],
      [randomBatch(1, 5, 4, 1, 3).pixels, 1],
    ] as const) {
      const width = channels === 3 ? grid.width : 4;
      const height = channels === 3 ? grid.height : 5;
      const png = await encodePng(pixels, width, height, channels);
      expect((await sharp(png).metadata()).channels).toBe(channels); // a gray PNG, not gray in RGB
      const { data, info } = await sharp(png)
        .toColourspace(channels === 1 ? 'b-w' : 'srgb')
        .raw()
        .toBuffer({ resolveWithObject: true });
      expect([info.width, info.height, info.channels]).toEqual([width, height, channels]);
      expect(Buffer.from(data).equals(Buffer.from(pixels))).toBe(true);
    }
    await expect(encodePng(new Uint8Array(3), 2, 2, 1)).rejects.toThrow(RangeError);
  });
});

describe('nearestNeighbours', () => {
  /** The plain definition, one pair at a time, in [-1, 1] units. */
  function bruteForce(samples: ImageBatch, dataset: ImageBatch): { index: number; meanAbsDiff: number }[] {
    const d = dataset.shape.height * dataset.shape.width * dataset.shape.channels;
    const n = dataset.pixels.length / d;
    return Array.from({ length: samples.pixels.length / d }, (_, s) => {
      let best = { index: -1, meanAbsDiff: Infinity };
      for (let j = 0; j < n; j++) {
        let sum = 0;
        for (let k = 0; k < d; k++) sum += Math.abs(samples.pixels[s * d + k]! - dataset.pixels[j * d + k]!) / 127.5;
        if (sum / d < best.meanAbsDiff) best = { index: j, meanAbsDiff: sum / d };
      }
      return best;
    });
  }

  it('agrees with the brute-force definition across chunk sizes, without leaking tensors', async () => {
    const dataset = randomBatch(37, 6, 5, 3, 1);
    const samples = randomBatch(4, 6, 5, 3, 2);
    // Plant a near copy of dataset image 23 as sample 2.
    samples.pixels.set(dataset.pixels.subarray(23 * 90, 24 * 90), 2 * 90);
    samples.pixels[2 * 90] = (samples.pixels[2 * 90]! + 3) % 256;
    const expected = bruteForce(samples, dataset);
    expect(expected[2]!.index).toBe(23);
    const before = tf.memory().numTensors;
    for (const maxElements of [1, 4 * 90 * 5, 2 ** 24]) {
      const found = await nearestNeighbours(samples, dataset, { maxElements });
      expect(found.map((f) => f.index)).toEqual(expected.map((e) => e.index));
      found.forEach((f, i) => expect(f.meanAbsDiff).toBeCloseTo(expected[i]!.meanAbsDiff, 5));
    }
    const asTensor = toTensor(samples);
    const fromFloat = await nearestNeighbours(asTensor, dataset);
    expect(fromFloat.map((f) => f.index)).toEqual(expected.map((e) => e.index));
    asTensor.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  it('rejects samples of another shape', async () => {
    await expect(nearestNeighbours(randomBatch(1, 2, 2, 1, 1), randomBatch(3, 3, 3, 1, 1))).rejects.toThrow(/2x2x1.*3x3x1/);
  });
});

describe('memorisationGrid', () => {
  it('puts each row of samples above the row of their nearest training images', async () => {
    const dataset = randomBatch(20, 3, 3, 1, 11);
    // Samples are exact copies of dataset images 7, 2, 19, 0, 5 (cols 3, rows 2: one cell empty).
    const picks = [7, 2, 19, 0, 5];
    const samples: ImageBatch = { pixels: new Uint8Array(picks.length * 9), shape: dataset.shape };
    picks.forEach((p, i) => samples.pixels.set(dataset.pixels.subarray(p * 9, p * 9 + 9), i * 9));
    const before = tf.memory().numTensors;
    const grid = await memorisationGrid(samples, dataset, { cols: 3, rows: 2, pad: 1, padValue: 0 });
    expect(tf.memory().numTensors).toBe(before);
    expect(grid.neighbours.map((n) => n.index)).toEqual(picks);
    expect(grid.neighbours.every((n) => n.meanAbsDiff === 0)).toBe(true);
    expect([grid.width, grid.height]).toEqual([3 * 3 + 4, 4 * 3 + 5]);
    const cell = (row: number, col: number) =>
      Array.from({ length: 9 }, (_, k) => grid.pixels[(1 + row * 4 + Math.floor(k / 3)) * grid.width + 1 + col * 4 + (k % 3)]);
    expect(cell(0, 1)).toEqual(Array.from(dataset.pixels.subarray(2 * 9, 3 * 9))); // sample 1
    expect(cell(1, 1)).toEqual(cell(0, 1)); // its neighbour below
    expect(cell(3, 1)).toEqual(Array.from(dataset.pixels.subarray(5 * 9, 6 * 9))); // neighbour of sample 4
    expect(cell(2, 2).every((v) => v === 0)).toBe(true); // no sample 5
  });
});
