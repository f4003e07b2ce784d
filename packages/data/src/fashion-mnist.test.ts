import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError, type DataContext } from '@duel/core';
import { FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, fashionMnist, fashionMnistOptions, loadFashionMnist } from './fashion-mnist';
import { parseIdx } from './idx';

let root: string;

/** An IDX file of unsigned bytes, as the MNIST files are laid out. */
function idx(dims: number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0x08, 2);
  header.writeUInt8(dims.length, 3);
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, data]);
}

const context = (cache: string): DataContext & { lines: string[] } => {
  const lines: string[] = [];
  return { baseDir: root, cacheDir: path.join(root, 'cache', cache), log: (l) => lines.push(l), lines };
};

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'duel-data-idx-'));
  // Three 28x28 images: constant 0, constant 200, and a horizontal ramp x * 9.
  const images = new Uint8Array(3 * 784);
  images.fill(200, 784, 2 * 784);
  for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) images[2 * 784 + y * 28 + x] = x * 9;
  await mkdir(path.join(root, 'tiny'));
  await writeFile(path.join(root, 'tiny', 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 28, 28], images)));
  await writeFile(path.join(root, 'tiny', 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], Uint8Array.from([9, 0, 3]))));
  // Test split uncompressed, to show plain IDX files are read too.
  await writeFile(path.join(root, 'tiny', 't10k-images-idx3-ubyte'), idx([1, 28, 28], images.subarray(784, 2 * 784)));
  await writeFile(path.join(root, 'tiny', 't10k-labels-idx1-ubyte'), idx([1], Uint8Array.from([5])));

  await mkdir(path.join(root, 'truncated'));
  const gz = gzipSync(idx([3, 28, 28], images));
  await writeFile(path.join(root, 'truncated', 'train-images-idx3-ubyte.gz'), gz.subarray(0, gz.length - 20));
  await writeFile(path.join(root, 'truncated', 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], Uint8Array.from([1, 2, 3]))));

  await mkdir(path.join(root, 'short'));
  await writeFile(path.join(root, 'short', 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 28, 28], images.subarray(0, 2 * 784))));
  await writeFile(path.join(root, 'short', 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3], Uint8Array.from([1, 2, 3]))));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('parseIdx', () => {
  it('reads dimensions big-endian and the data after the header', () => {
    const parsed = parseIdx(idx([2, 1, 3], Uint8Array.from([1, 2, 3, 4, 5, 6])), 'x', 3);
    expect(parsed.dims).toEqual([2, 1, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('rejects a bad magic number, type, rank or length, naming the file', () => {
    const good = idx([2], Uint8Array.from([1, 2]));
    const garbled = Buffer.from(good);
    garbled[0] = 0x1f;
    expect(() => parseIdx(garbled, '/d/f.idx', 1)).toThrow(/\/d\/f\.idx .*magic number 0x1f000801/);
    const floats = Buffer.from(good);
    floats[2] = 0x0d;
    expect(() => parseIdx(floats, 'f', 1)).toThrow(/type code 0xd/);
    expect(() => parseIdx(good, 'f', 3)).toThrow(/1 dimensions, expected 3/);
    expect(() => parseIdx(good.subarray(0, 9), 'f', 1)).toThrow(/need 2 data bytes but the file has 1 \(truncated\)/);
    expect(() => parseIdx(Buffer.concat([good, Buffer.from([0])]), 'f', 1)).toThrow(UserInputError);
  });
});

describe('fashion-mnist', () => {
  it('loads gzip IDX files, resizes 28 -> 32 and labels with the ten classes', async () => {
    const ds = await loadFashionMnist(fashionMnistOptions.parse({ dir: 'tiny' }), context('a'));
    expect(ds.size).toBe(3);
    expect(ds.shape).toEqual({ height: 32, width: 32, channels: 1 });
    expect(Array.from(ds.labels!)).toEqual([9, 0, 3]);
    expect(ds.classNames).toEqual([...FASHION_MNIST_CLASSES]);
    expect(ds.pixels.subarray(0, 1024).every((v) => v === 0)).toBe(true);
    expect(ds.pixels.subarray(1024, 2048).every((v) => v === 200)).toBe(true);
    // Ramp x * 9, output column 1 samples input x = (1.5) * 28 / 32 - 0.5 = 0.8125: 7.3125 -> 7.
    expect(ds.pixels[2048 + 1]).toBe(7);
    // Last column clamps to the last input column: 27 * 9 = 243.
    expect(ds.pixels[2048 + 31]).toBe(243);
  });

  it('resizes to 64 and replicates gray into RGB', async () => {
    const ds = await loadFashionMnist(fashionMnistOptions.parse({ dir: 'tiny', imageSize: 64, channels: 3, limit: 2 }), context('b'));
    expect(ds.size).toBe(2);
    expect(ds.pixels.length).toBe(2 * 64 * 64 * 3);
    expect(Array.from(ds.pixels.subarray(64 * 64 * 3, 64 * 64 * 3 + 6))).toEqual([200, 200, 200, 200, 200, 200]);
  });

  it('reads the test split (plain IDX) and caches the decoded result', async () => {
    const ctx = context('c');
    const cold = await loadFashionMnist(fashionMnistOptions.parse({ dir: 'tiny', split: 'test' }), ctx);
    expect(Array.from(cold.labels!)).toEqual([5]);
    expect(cold.cache.hit).toBe(false);
    const warm = await loadFashionMnist(fashionMnistOptions.parse({ dir: 'tiny', split: 'test' }), ctx);
    expect(warm.cache.hit).toBe(true);
    expect(Buffer.from(warm.pixels).equals(Buffer.from(cold.pixels))).toBe(true);
  });

  it('names a truncated gzip file or an IDX with too few bytes', async () => {
    const truncated = path.join(root, 'truncated', 'train-images-idx3-ubyte.gz');
    await expect(loadFashionMnist(fashionMnistOptions.parse({ dir: 'truncated' }), context('d'))).rejects.toThrow(
      new RegExp(`${truncated} is not a valid gzip file`),
    );
    const short = path.join(root, 'short', 'train-images-idx3-ubyte.gz');
    await expect(loadFashionMnist(fashionMnistOptions.parse({ dir: 'short' }), context('d'))).rejects.toThrow(
      new RegExp(`${short} is not a valid IDX file: dimensions 3x28x28 need 2352 data bytes but the file has 1568`),
    );
  });

  it('says how to install the data when the folder is missing', async () => {
    const error = await loadFashionMnist(fashionMnistOptions.parse({ dir: 'nope' }), context('e')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserInputError);
    expect((error as Error).message).toContain(path.join(root, 'nope'));
    expect((error as Error).message).toContain('apt-get install dataset-fashion-mnist');
  });

  it('is a data plugin with the shape its options produce', () => {
    const parsed = fashionMnist.options.parse({});
    expect(parsed).toMatchObject({ dir: FASHION_MNIST_DIR, split: 'train', imageSize: 32, channels: 1 });
    expect(fashionMnist.imageShape!(parsed)).toEqual({ height: 32, width: 32, channels: 1 });
  });

  const real = existsSync(path.join(FASHION_MNIST_DIR, 't10k-images-idx3-ubyte.gz'));
  it.skipIf(!real)(`reads the real Debian files (${FASHION_MNIST_DIR}; skipped when absent: apt-get install dataset-fashion-mnist)`, async () => {
    const ds = await loadFashionMnist(fashionMnistOptions.parse({ split: 'test', limit: 500 }), context('real'));
    expect(ds.size).toBe(500);
    // The published test set opens with labels 9 (ankle boot), 2, 1, 1, 6.
    expect(Array.from(ds.labels!.subarray(0, 5))).toEqual([9, 2, 1, 1, 6]);
    const counts = new Array(10).fill(0);
    for (const l of ds.labels!) counts[l]++;
    expect(counts.every((c) => c > 20)).toBe(true);
    expect(ds.pixels.reduce((a, b) => Math.max(a, b), 0)).toBe(255);
    expect(ds.pixels.reduce((a, b) => Math.min(a, b), 255)).toBe(0);
  });
});
