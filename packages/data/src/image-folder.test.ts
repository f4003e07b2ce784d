import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError, type DataContext } from '@duel/core';
import { sharpDecoder, type ImageDecoder } from './decode';
import { imageFolder, imageFolderOptions, loadImageFolder } from './image-folder';

let root: string;

const solid = (width: number, height: number, channels: 1 | 3 | 4, values: number[]) =>
  sharp(Buffer.from(Array.from({ length: width * height }, () => values).flat()), { raw: { width, height, channels } });

/** A decoder that counts its calls, to prove a cache hit decodes nothing. */
function countingDecoder(): { decoder: ImageDecoder; calls: () => number } {
  let calls = 0;
  return {
    decoder: (bytes, channels) => {
      calls++;
      return sharpDecoder(bytes, channels);
    },
    calls: () => calls,
  };
}

function context(cacheName: string): DataContext & { lines: string[] } {
  const lines: string[] = [];
  return { baseDir: root, cacheDir: path.join(root, 'cache', cacheName), log: (line) => lines.push(line), lines };
}

const options = (extra: Record<string, unknown>) => imageFolderOptions.parse(extra);

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'duel-data-folder-'));
  const good = path.join(root, 'good');
  await mkdir(path.join(good, 'b class'), { recursive: true });
  await mkdir(path.join(good, 'a', 'nested'), { recursive: true });
  await solid(8, 8, 1, [100]).toColourspace('b-w').png().toFile(path.join(good, 'a', 'gray 100.png'));
  await solid(10, 6, 3, [200, 200, 200]).jpeg({ quality: 100 }).toFile(path.join(good, 'a', 'nested', 'wide.JPG'));
  await solid(4, 4, 3, [255, 0, 0]).webp({ lossless: true }).toFile(path.join(good, 'b class', 'red.webp'));
  // Half-transparent white over black: 255 * 128 / 255 = 128.
  await solid(4, 4, 4, [255, 255, 255, 128]).png().toFile(path.join(good, 'b class', 'rgba.png'));
  // 16-bit gray 40000.
  await sharp(new Uint16Array(16).fill(40000), { raw: { width: 4, height: 4, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toFile(path.join(good, 'b class', 'deep16.png'));
  await writeFile(path.join(good, 'b class', 'notes.txt'), 'not an image, not an image extension');
  await writeFile(path.join(good, '.hidden.png'), 'hidden files are ignored');

  const ramp = path.join(root, 'ramp');
  await mkdir(ramp);
  const rampPixels = Uint8Array.from({ length: 16 }, (_, i) => 10 * (i % 4) + 40 * Math.floor(i / 4));
  await sharp(rampPixels, { raw: { width: 4, height: 4, channels: 1 } }).toColourspace('b-w').png().toFile(path.join(ramp, 'ramp.png'));

  const bad = path.join(root, 'bad');
  await mkdir(path.join(bad, 'x'), { recursive: true });
  await solid(8, 8, 1, [50]).toColourspace('b-w').png().toFile(path.join(bad, 'x', 'fine.png'));
  const full = await solid(32, 32, 3, [9, 99, 199]).png({ compressionLevel: 0 }).toBuffer();
  await writeFile(path.join(bad, 'x', 'truncated.png'), full.subarray(0, full.length >> 1));
  await writeFile(path.join(bad, 'x', 'empty.png'), '');
  await writeFile(path.join(bad, 'x', 'text named.png'), 'hello, I am text');
  await symlink(path.join(bad, 'nowhere.png'), path.join(bad, 'x', 'dangling.png'));

  await mkdir(path.join(root, 'empty'));
  await mkdir(path.join(root, 'flat'));
  for (const v of [10, 20, 30]) await solid(2, 2, 1, [v]).toColourspace('b-w').png().toFile(path.join(root, 'flat', `${v}.png`));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('image-folder', () => {
  it('decodes every format to gray, sorted, labelled by top-level folder', async () => {
    const ds = await loadImageFolder(options({ path: 'good', imageSize: 4 }), context('gray'));
    expect(ds.size).toBe(5);
    expect(ds.shape).toEqual({ height: 4, width: 4, channels: 1 });
    expect(ds.pixels.length).toBe(5 * 16);
    expect(ds.classNames).toEqual(['a', 'b class']);
    // Order: a/gray 100.png, a/nested/wide.JPG, b class/deep16.png, b class/red.webp, b class/rgba.png
    expect(Array.from(ds.labels!)).toEqual([0, 0, 1, 1, 1]);
    const first = (n: number) => ds.pixels[n * 16];
    expect(first(0)).toBe(100);
    expect(Math.abs(first(1)! - 200)).toBeLessThanOrEqual(1); // JPEG
    // 16-bit 40000 -> 8 bit: libvips scales (40000 / 257 = 155.6), libpng's strip-16 keeps the high byte (156).
    expect([155, 156]).toContain(first(2));
    expect(first(3)).toBe(76); // Rec. 601 luma of pure red
    expect(first(4)).toBe(128);
    expect(ds.skipped).toEqual([]);
  });

  it('gives RGB with alpha composited over black', async () => {
    const ds = await loadImageFolder(options({ path: 'good', imageSize: 2, channels: 3 }), context('rgb'));
    expect(ds.shape.channels).toBe(3);
    const pixel = (n: number) => Array.from(ds.pixels.subarray(n * 12, n * 12 + 3));
    expect(pixel(0)).toEqual([100, 100, 100]);
    expect(pixel(3)).toEqual([255, 0, 0]);
    expect(pixel(4)).toEqual([128, 128, 128]);
  });

  it('resizes bilinearly: a 4x4 ramp halves to the hand-computed 2x2 block means', async () => {
    const ds = await loadImageFolder(options({ path: 'ramp', imageSize: 2 }), context('ramp'));
    expect(Array.from(ds.pixels)).toEqual([25, 45, 105, 125]);
    expect(ds.labels).toBeUndefined(); // files directly in the root: unlabelled
  });

  it('decodes once: the second load reads the cache and never calls the decoder', async () => {
    const ctx = context('hit');
    const first = countingDecoder();
    const cold = await loadImageFolder(options({ path: 'good', imageSize: 4 }), ctx, { decoder: first.decoder });
    expect(first.calls()).toBe(5);
    expect(cold.cache.hit).toBe(false);

    const second = countingDecoder();
    const warm = await loadImageFolder(options({ path: 'good', imageSize: 4 }), ctx, { decoder: second.decoder });
    expect(second.calls()).toBe(0);
    expect(warm.cache).toEqual({ file: cold.cache.file, hit: true });
    expect(Buffer.from(warm.pixels).equals(Buffer.from(cold.pixels))).toBe(true);
    expect(Array.from(warm.labels!)).toEqual(Array.from(cold.labels!));
    expect(warm.classNames).toEqual(cold.classNames);
    expect(ctx.lines.some((l) => l.includes('from cache'))).toBe(true);
    // Atomic writes leave no temporary files behind.
    expect((await readdir(ctx.cacheDir)).sort()).toEqual([path.basename(cold.cache.file), path.basename(cold.cache.file).replace('.bin', '.json')]);

    // A different size is a different key; so is a touched file.
    const third = countingDecoder();
    await loadImageFolder(options({ path: 'good', imageSize: 3 }), ctx, { decoder: third.decoder });
    expect(third.calls()).toBe(5);
    await utimes(path.join(root, 'good', 'a', 'gray 100.png'), new Date(), new Date(Date.now() + 5000));
    const fourth = countingDecoder();
    const touched = await loadImageFolder(options({ path: 'good', imageSize: 4 }), ctx, { decoder: fourth.decoder });
    expect(fourth.calls()).toBe(5);
    expect(touched.cache.hit).toBe(false);
  });

  it('rebuilds a damaged cache entry instead of trusting it', async () => {
    const ctx = context('damaged');
    const cold = await loadImageFolder(options({ path: 'ramp', imageSize: 2 }), ctx);
    await writeFile(cold.cache.file, 'garbage');
    const counter = countingDecoder();
    const again = await loadImageFolder(options({ path: 'ramp', imageSize: 2 }), ctx, { decoder: counter.decoder });
    expect(counter.calls()).toBe(1);
    expect(Array.from(again.pixels)).toEqual([25, 45, 105, 125]);
    expect(ctx.lines.some((l) => l.includes('unusable'))).toBe(true);
  });

  it("stops on bad files by default, naming each with its reason", async () => {
    const error = await loadImageFolder(options({ path: 'bad' }), context('bad')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserInputError);
    const issues = (error as UserInputError).issues;
    expect(issues.map((i) => path.basename(i.path))).toEqual(['dangling.png', 'empty.png', 'text named.png', 'truncated.png']);
    const reason = (name: string) => issues.find((i) => i.path.endsWith(name))!.message;
    expect(reason('empty.png')).toMatch(/empty/);
    expect(reason('text named.png')).toMatch(/unsupported image format/);
    expect(reason('truncated.png')).toMatch(/end of stream|truncated|error/i);
    expect(reason('dangling.png')).toMatch(/ENOENT/);
    expect((error as Error).message).toContain(path.join(root, 'bad', 'x', 'truncated.png'));
  });

  it("with onBadFile 'skip' leaves bad files out, records and logs them", async () => {
    const ctx = context('skip');
    const ds = await loadImageFolder(options({ path: 'bad', onBadFile: 'skip', imageSize: 8 }), ctx);
    expect(ds.size).toBe(1);
    expect(ds.pixels.every((v) => v === 50)).toBe(true);
    expect(ds.skipped.length).toBe(4);
    expect(ctx.lines.some((l) => l.startsWith('skipped 4 bad files: ') && l.includes('empty.png'))).toBe(true);
    const again = await loadImageFolder(options({ path: 'bad', onBadFile: 'skip', imageSize: 8 }), ctx);
    expect(again.cache.hit).toBe(true);
    expect(again.skipped).toEqual(ds.skipped);
  });

  it('names the path of a missing or empty folder', async () => {
    await expect(loadImageFolder(options({ path: 'missing' }), context('missing'))).rejects.toThrow(
      new RegExp(`${path.join(root, 'missing')} does not exist`),
    );
    const error = await loadImageFolder(options({ path: 'empty' }), context('empty')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserInputError);
    expect((error as Error).message).toContain(path.join(root, 'empty'));
  });

  it('limit picks an evenly spread, deterministic subset', async () => {
    const ds = await loadImageFolder(options({ path: 'flat', imageSize: 2, limit: 2 }), context('limit'));
    expect([ds.pixels[0], ds.pixels[4]]).toEqual([10, 20]); // indices floor(0 * 3 / 2) = 0 and floor(1 * 3 / 2) = 1
    const good = await loadImageFolder(options({ path: 'good', imageSize: 2, limit: 2 }), context('limit'));
    expect(Array.from(good.labels!)).toEqual([0, 1]);
  });

  it('is a data plugin with checked options and the shape they produce', async () => {
    expect(imageFolder.kind).toBe('data');
    expect(imageFolder.name).toBe('image-folder');
    const parsed = imageFolder.options.parse({ path: 'x' });
    expect(parsed).toMatchObject({ imageSize: 64, channels: 1, onBadFile: 'error', concurrency: 2 });
    expect(imageFolder.imageShape!(parsed)).toEqual({ height: 64, width: 64, channels: 1 });
    expect(imageFolder.options.safeParse({ path: 'x', channels: 2 }).success).toBe(false);
    expect(imageFolder.options.safeParse({ path: 'x', colour: true }).success).toBe(false);
    const source = await imageFolder.create(imageFolder.options.parse({ path: 'ramp', imageSize: 2 }), context('plugin'));
    expect((await source.load()).size).toBe(1);
  });
});
