import { access, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { definePlugin, UserInputError, type DataContext, type ImageShape } from '@duel/core';
import { cacheKey, readCache, writeCache, type CachedDataset } from './cache';
import { maybeGunzip, parseIdx } from './idx';
import type { CachingDataSource } from './image-folder';
import { resizeBilinear } from './resize';

/** Where Debian's `dataset-fashion-mnist` package puts the files. */
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** The ten classes, by label index (Zalando's order). */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

const INSTALL_HINT = 'on Debian: apt-get install dataset-fashion-mnist';

/** Options of the `fashion-mnist` data source. */
export const fashionMnistOptions = z
  .object({
    /** Folder of the IDX files (gzip or plain), relative to the experiment file. @default /usr/share/datasets/fashion-mnist */
    dir: z.string().min(1).default(FASHION_MNIST_DIR),
    /** Which half: 60,000 training or 10,000 test images. @default 'train' */
    split: z.enum(['train', 'test']).default('train'),
    /** Side of the images after a bilinear resize from 28 (a power of two suits the DCGAN). @default 32 */
    imageSize: z.number().int().min(2).max(1024).default(32),
    /** 1 = grayscale as stored, 3 = the gray replicated into RGB. @default 1 */
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** Read only the first N images (quick looks and tests). @default all */
    limit: z.number().int().positive().optional(),
  })
  .strict();
export type FashionMnistOptions = z.output<typeof fashionMnistOptions>;

/** The IDX file of a split, `.gz` preferred. */
async function findFile(dir: string, split: 'train' | 'test', what: 'images-idx3' | 'labels-idx1'): Promise<string> {
  const base = path.join(dir, `${split === 'train' ? 'train' : 't10k'}-${what}-ubyte`);
  for (const candidate of [`${base}.gz`, base]) {
    if (await access(candidate).then(() => true, () => false)) return candidate;
  }
  throw new UserInputError(`data.options.dir: ${base}.gz not found (${INSTALL_HINT})`);
}

/**
 * Loads a Fashion-MNIST split from its IDX files, checks magic numbers and
 * sizes, resizes 28x28 bilinearly to `imageSize` and caches the result like
 * the folder source does.
 *
 * @throws UserInputError for a missing folder (with the apt-get hint) or a truncated or garbled file.
 */
export async function loadFashionMnist(options: FashionMnistOptions, context: DataContext): Promise<CachedDataset> {
  const dir = path.resolve(context.baseDir, options.dir);
  const dirInfo = await stat(dir).catch(() => undefined);
  if (dirInfo === undefined || !dirInfo.isDirectory()) {
    throw new UserInputError(`data.options.dir: Fashion-MNIST folder ${dir} does not exist (${INSTALL_HINT})`);
  }
  const imagesFile = await findFile(dir, options.split, 'images-idx3');
  const labelsFile = await findFile(dir, options.split, 'labels-idx1');
  const shape: ImageShape = { height: options.imageSize, width: options.imageSize, channels: options.channels };
  const fileStamps = await Promise.all(
    [imagesFile, labelsFile].map(async (f) => {
      const s = await stat(f);
      return [f, s.size, s.mtimeMs];
    }),
  );
  const key = cacheKey('fashion-mnist', { files: fileStamps, shape, limit: options.limit ?? null });
  const cacheDir = path.resolve(context.baseDir, context.cacheDir);
  const cached = await readCache(cacheDir, key, context.log);
  if (cached !== undefined) {
    context.log(`fashion-mnist: ${cached.size} ${options.split} images from cache ${cached.cache.file}`);
    return cached;
  }

  const [images, labels] = await Promise.all([
    readFile(imagesFile).then((b) => maybeGunzip(b, imagesFile)).then((b) => parseIdx(b, imagesFile, 3)),
    readFile(labelsFile).then((b) => maybeGunzip(b, labelsFile)).then((b) => parseIdx(b, labelsFile, 1)),
  ]);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (labels.dims[0] !== count) {
    throw new UserInputError(`${labelsFile} has ${labels.dims[0]} labels but ${imagesFile} has ${count} images`);
  }
  const badLabel = labels.data.findIndex((l) => l >= FASHION_MNIST_CLASSES.length);
  if (badLabel >= 0) throw new UserInputError(`${labelsFile}: label ${labels.data[badLabel]} at index ${badLabel} is not a class 0-9`);

  const size = Math.min(count, options.limit ?? count);
  context.log(`fashion-mnist: decoding ${size} ${options.split} images ${rows}x${cols} -> ${shape.height}x${shape.width}x${shape.channels}`);
  const inBytes = rows * cols;
  const outPixels = shape.height * shape.width;
  const pixels = new Uint8Array(size * outPixels * shape.channels);
  for (let i = 0; i < size; i++) {
    const gray = resizeBilinear(images.data.subarray(i * inBytes, (i + 1) * inBytes), cols, rows, 1, shape.width, shape.height);
    if (shape.channels === 1) {
      pixels.set(gray, i * outPixels);
    } else {
      const base = i * outPixels * 3;
      for (let p = 0; p < outPixels; p++) pixels.fill(gray[p]!, base + 3 * p, base + 3 * p + 3);
    }
  }
  const dataset = {
    source: imagesFile,
    shape,
    size,
    pixels,
    labels: Int32Array.from(labels.data.subarray(0, size)),
    classNames: [...FASHION_MNIST_CLASSES],
    skipped: [],
  };
  return writeCache(cacheDir, key, dataset, context.log);
}

/** `fashion-mnist`: Zalando's 28x28 clothing images from the IDX files, resized. */
export const fashionMnist = definePlugin({
  kind: 'data',
  name: 'fashion-mnist',
  description: 'Fashion-MNIST from its IDX files (train or test split), resized bilinearly, 10 labelled classes',
  options: fashionMnistOptions,
  imageShape: (options): ImageShape => ({ height: options.imageSize, width: options.imageSize, channels: options.channels }),
  create: (options, context: DataContext): CachingDataSource => ({ load: () => loadFashionMnist(options, context) }),
});
