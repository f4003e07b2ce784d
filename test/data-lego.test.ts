import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataContext } from '../packages/core/src/index';
import { imageFolder } from '../packages/data/src/index';

// Beside the checkout, where experiments/dcgan-lego.yaml looks too (CI lays shared/ there).
const LEGO = path.resolve(__dirname, '..', '..', 'shared', 'datasets', 'lego-bricks-128');
let cacheRoot: string;

beforeAll(async () => {
  cacheRoot = await mkdtemp(path.join(tmpdir(), 'duel-data-lego-'));
});
afterAll(async () => {
  await rm(cacheRoot, { recursive: true, force: true });
});

describe.skipIf(!existsSync(LEGO))(`image-folder on the real LEGO renders (${LEGO})`, () => {
  it('loads 390 images as 64x64x1 with 13 labelled classes, then hits the cache', async () => {
    const lines: string[] = [];
    const context: DataContext = { baseDir: '/', cacheDir: cacheRoot, log: (l) => lines.push(l) };
    const options = imageFolder.options.parse({ path: LEGO, limit: 390 });
    const source = await imageFolder.create(options, context);

    const cold = await source.load();
    expect(cold.size).toBe(390);
    expect(cold.shape).toEqual({ height: 64, width: 64, channels: 1 });
    expect(cold.pixels.length).toBe(390 * 64 * 64);
    expect(cold.classNames).toHaveLength(13);
    expect(cold.classNames![0]).toBe('brick_1x1');
    expect(cold.classNames).toContain('brick_plate_knob_1X2');
    // The limit spreads over the sorted list: 30 images from each of the 13 folders of 800.
    const perClass = new Array(13).fill(0);
    for (const l of cold.labels!) perClass[l]++;
    expect(perClass).toEqual(new Array(13).fill(30));
    // Renders: light-gray bricks (up to about 162 at 128x128) on a black background.
    let min = 255;
    let max = 0;
    let sum = 0;
    for (const v of cold.pixels) {
      if (v < min) min = v;
      if (v > max) max = v;
      sum += v;
    }
    expect(min).toBe(0);
    expect(max).toBeGreaterThan(120);
    expect(max).toBeLessThanOrEqual(170);
    const mean = sum / cold.pixels.length;
    expect(mean).toBeGreaterThan(5);
    expect(mean).toBeLessThan(40);
    expect(cold.skipped).toEqual([]);
    expect(cold.cache.hit).toBe(false);
    expect(lines.some((l) => l.startsWith('image-folder: decoding 390 of 10400 files'))).toBe(true);

    const cacheFile = cold.cache.file;
    expect((await stat(cacheFile)).size).toBe(390 * 64 * 64 + 390 * 4);
    const warm = await (await imageFolder.create(options, context)).load();
    expect(warm.cache).toEqual({ file: cacheFile, hit: true });
    expect(lines.at(-1)).toBe(`image-folder: 390 images 64x64x1 from cache ${cacheFile}`);
    expect(Buffer.from(warm.pixels).equals(Buffer.from(cold.pixels))).toBe(true);
    expect(Array.from(warm.labels!)).toEqual(Array.from(cold.labels!));
    expect((await readdir(cacheRoot)).length).toBe(2);
  }, 30_000);
});
