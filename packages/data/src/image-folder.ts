import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { definePlugin, UserInputError, type DataContext, type DataSource, type ImageShape } from '@duel/core';
import { cacheKey, readCache, writeCache, type CachedDataset } from './cache';
import { mapWithConcurrency, sharpDecoder, type ImageDecoder } from './decode';
import { resizeBilinear } from './resize';
import { byCodeUnit, listFiles, type ListedFile } from './walk';

/** The extensions sharp's prebuilt binaries decode (no BMP: that needs ImageMagick). */
export const DEFAULT_EXTENSIONS = ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'] as const;

/** Options of the `image-folder` data source. */
export const imageFolderOptions = z
  .object({
    /** The folder of images, relative to the experiment file. Sub-folders are read too. */
    path: z.string().min(1, 'expected the path of an image folder'),
    /** Side of the square images after resizing (bilinear, no aspect crop). @default 64 (the book) */
    imageSize: z.number().int().min(2).max(2048).default(64),
    /** 1 = grayscale (Rec. 601 luma), 3 = RGB; alpha is composited over black. @default 1 (the book) */
    channels: z.union([z.literal(1), z.literal(3)]).default(1),
    /** File extensions to read, case-insensitive. @default png, jpg, jpeg, webp, gif, tif, tiff, avif */
    extensions: z.array(z.string().min(1)).min(1).default([...DEFAULT_EXTENSIONS]),
    /** What a file that does not decode does: stop before training, or be left out and logged. @default 'error' */
    onBadFile: z.enum(['error', 'skip']).default('error'),
    /**
     * Read at most this many files, spread evenly over the sorted list so each
     * class is represented (quick looks and tests). @default all
     */
    limit: z.number().int().positive().optional(),
    /** Images decoded at once. @default 2 */
    concurrency: z.number().int().min(1).max(64).default(2),
  })
  .strict();
export type ImageFolderOptions = z.output<typeof imageFolderOptions>;

/** A data source whose datasets say whether they came from the decoded cache. */
export interface CachingDataSource extends DataSource {
  load(): Promise<CachedDataset>;
}

/** Everything a folder load can be given besides options and context (tests inject a decoder). */
export interface ImageFolderDependencies {
  decoder?: ImageDecoder;
}

/** The first `limit` of `count` indices spread evenly (all of them without a limit). */
function spreadIndices(count: number, limit: number | undefined): number[] {
  if (limit === undefined || limit >= count) return Array.from({ length: count }, (_, i) => i);
  return Array.from({ length: limit }, (_, i) => Math.floor((i * count) / limit));
}

/**
 * Labels from the top-level sub-folder of each file (class names sorted), or
 * none when some files lie directly in the root (a flat folder is unlabelled).
 */
function labelFiles(files: readonly ListedFile[]): { classNames: string[]; labelOf: (file: ListedFile) => number } | undefined {
  if (files.length === 0 || files.some((f) => !f.relative.includes('/'))) return undefined;
  const top = (f: ListedFile) => f.relative.slice(0, f.relative.indexOf('/'));
  const classNames = [...new Set(files.map(top))].sort(byCodeUnit);
  const index = new Map(classNames.map((name, i) => [name, i]));
  return { classNames, labelOf: (f) => index.get(top(f))! };
}

/**
 * Loads every image under a folder, decoded once: the first load decodes with
 * bounded concurrency and writes the uint8 pixels to `context.cacheDir`; a
 * later load of the same files (same sizes and mtimes) with the same
 * pixel-affecting options reads the cache and never calls the decoder.
 *
 * @throws UserInputError for a missing or empty folder, or (onBadFile 'error')
 *   listing every file that does not decode, with the reason.
 */
export async function loadImageFolder(
  options: ImageFolderOptions,
  context: DataContext,
  dependencies: ImageFolderDependencies = {},
): Promise<CachedDataset> {
  const decoder = dependencies.decoder ?? sharpDecoder;
  const root = path.resolve(context.baseDir, options.path);
  const rootInfo = await stat(root).catch(() => undefined);
  if (rootInfo === undefined) throw new UserInputError(`data.options.path: image folder ${root} does not exist`);
  if (!rootInfo.isDirectory()) throw new UserInputError(`data.options.path: ${root} is not a folder`);

  const listing = await listFiles(root, options.extensions);
  const total = listing.files.length + listing.unreadable.length;
  if (listing.files.length === 0 && listing.unreadable.length === 0) {
    throw new UserInputError(`data.options.path: no image files (${options.extensions.join(', ')}) under ${root}`);
  }
  const chosen = spreadIndices(listing.files.length, options.limit).map((i) => listing.files[i]!);
  const shape: ImageShape = { height: options.imageSize, width: options.imageSize, channels: options.channels };
  const key = cacheKey('image-folder', {
    root,
    files: chosen.map((f) => [f.relative, f.size, f.mtimeMs]),
    unreadable: listing.unreadable.map((u) => u.file),
    shape,
    onBadFile: options.onBadFile,
  });

  const cacheDir = path.resolve(context.baseDir, context.cacheDir);
  const cached = await readCache(cacheDir, key, context.log);
  if (cached !== undefined) {
    context.log(`image-folder: ${cached.size} images ${shape.height}x${shape.width}x${shape.channels} from cache ${cached.cache.file}`);
    logSkipped(cached.skipped, context.log);
    return cached;
  }

  context.log(`image-folder: decoding ${chosen.length} of ${total} files under ${root}`);
  const imageBytes = shape.height * shape.width * shape.channels;
  const pixels = new Uint8Array(chosen.length * imageBytes);
  const bad: { file: string; reason: string }[] = [...listing.unreadable];
  const ok = await mapWithConcurrency(chosen, options.concurrency, async (file, index) => {
    try {
      const bytes = await readFile(file.absolute).catch((error: NodeJS.ErrnoException) => {
        throw new Error(`cannot read: ${error.code ?? error.message}`);
      });
      const image = await decoder(bytes, options.channels);
      const resized = resizeBilinear(image.pixels, image.width, image.height, image.channels, shape.width, shape.height);
      pixels.set(resized, index * imageBytes);
      return true;
    } catch (error) {
      bad.push({ file: file.absolute, reason: (error as Error).message });
      return false;
    }
  });
  bad.sort((a, b) => byCodeUnit(a.file, b.file));

  if (bad.length > 0 && options.onBadFile === 'error') {
    throw new UserInputError(
      `data: ${bad.length} of ${total} files under ${root} are not readable images (set data.options.onBadFile: skip to leave them out)`,
      bad.map((b) => ({ path: b.file, message: b.reason })),
    );
  }
  const kept = chosen.filter((_, i) => ok[i]);
  if (kept.length === 0) throw new UserInputError(`data.options.path: none of the ${total} files under ${root} is a readable image`);
  const keptPixels = kept.length === chosen.length ? pixels : compact(pixels, ok, imageBytes);
  // Classes come from the files chosen, not the ones that decoded, so a skip never renumbers them.
  const labelling = labelFiles(chosen);
  const dataset = {
    source: root,
    shape,
    size: kept.length,
    pixels: keptPixels,
    ...(labelling === undefined ? {} : { labels: Int32Array.from(kept, labelling.labelOf), classNames: labelling.classNames }),
    skipped: bad,
  };
  logSkipped(bad, context.log);
  return writeCache(cacheDir, key, dataset, context.log);
}

/** The images whose flag is set, packed together. */
function compact(pixels: Uint8Array, keep: readonly boolean[], imageBytes: number): Uint8Array {
  const out = new Uint8Array(keep.filter(Boolean).length * imageBytes);
  let o = 0;
  keep.forEach((k, i) => {
    if (!k) return;
    out.set(pixels.subarray(i * imageBytes, (i + 1) * imageBytes), o);
    o += imageBytes;
  });
  return out;
}

function logSkipped(skipped: readonly { file: string; reason: string }[], log: (line: string) => void): void {
  if (skipped.length === 0) return;
  const shown = skipped.slice(0, 10).map((s) => `${s.file} (${s.reason})`);
  const more = skipped.length > shown.length ? `, and ${skipped.length - shown.length} more` : '';
  log(`skipped ${skipped.length} bad file${skipped.length === 1 ? '' : 's'}: ${shown.join(', ')}${more}`);
}

/**
 * `image-folder`: every image under a folder tree, grayscale or RGB, resized
 * bilinearly to a square without cropping, labelled by top-level sub-folder.
 * The book's LEGO loader (ch. 4) is this with the defaults.
 */
export const imageFolder = definePlugin({
  kind: 'data',
  name: 'image-folder',
  description: 'Images from a folder tree (labels from sub-folders), resized bilinearly, decoded once into a cache',
  options: imageFolderOptions,
  imageShape: (options): ImageShape => ({ height: options.imageSize, width: options.imageSize, channels: options.channels }),
  create: (options, context: DataContext): CachingDataSource => ({ load: () => loadImageFolder(options, context) }),
});
