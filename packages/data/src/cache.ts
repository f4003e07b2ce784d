import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageDataset, ImageShape } from '@duel/core';

/** Bumped whenever the decoded pixels for the same inputs would change. */
const CACHE_FORMAT = 1;

/** What the JSON header beside a cached `.bin` records. */
interface CacheHeader {
  format: number;
  key: string;
  source: string;
  shape: ImageShape;
  size: number;
  /** Bytes of pixels at the start of the `.bin`; Int32 labels (little-endian) follow. */
  pixelBytes: number;
  labelCount: number;
  classNames: string[] | null;
  skipped: { file: string; reason: string }[];
}

/** A dataset together with where its cache lives and whether it came from there. */
export type CachedDataset = ImageDataset & {
  readonly cache: { readonly file: string; readonly hit: boolean };
};

/**
 * The cache key: a hash of everything that decides the decoded pixels (the
 * source's files with sizes and mtimes, the options that change pixels, the
 * cache format), prefixed with the source's kind for people browsing the folder.
 */
export function cacheKey(kind: string, parts: unknown): string {
  const hash = createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, kind, parts })).digest('hex');
  return `${kind}-${hash.slice(0, 32)}`;
}

export function cachePaths(cacheDir: string, key: string): { bin: string; header: string } {
  return { bin: path.join(cacheDir, `${key}.bin`), header: path.join(cacheDir, `${key}.json`) };
}

/**
 * Reads a cached dataset, or returns undefined when there is none or it is
 * unusable (a partial or foreign file: the caller decodes again and rewrites it).
 */
export async function readCache(cacheDir: string, key: string, log: (line: string) => void): Promise<CachedDataset | undefined> {
  const paths = cachePaths(cacheDir, key);
  let header: CacheHeader;
  try {
    header = JSON.parse(await readFile(paths.header, 'utf8')) as CacheHeader;
  } catch {
    return undefined;
  }
  const expectedBytes = header.pixelBytes + 4 * header.labelCount;
  const { height, width, channels } = header.shape ?? {};
  const consistent =
    header.format === CACHE_FORMAT &&
    header.key === key &&
    typeof height === 'number' &&
    header.pixelBytes === header.size * height * width * (channels ?? 0) &&
    (header.labelCount === 0 || header.labelCount === header.size);
  try {
    if (!consistent || (await stat(paths.bin)).size !== expectedBytes) throw new Error('size mismatch');
    const bytes = await readFile(paths.bin);
    if (bytes.length !== expectedBytes) throw new Error('size mismatch');
    const pixels = new Uint8Array(bytes.buffer, bytes.byteOffset, header.pixelBytes);
    const labels =
      header.labelCount === 0 ? undefined : new Int32Array(bytes.buffer.slice(bytes.byteOffset + header.pixelBytes, bytes.byteOffset + expectedBytes));
    return {
      source: header.source,
      shape: header.shape,
      size: header.size,
      pixels,
      ...(labels === undefined ? {} : { labels }),
      ...(header.classNames === null ? {} : { classNames: header.classNames }),
      skipped: header.skipped,
      cache: { file: paths.bin, hit: true },
    };
  } catch {
    log(`cache entry ${paths.bin} is unusable; decoding again`);
    return undefined;
  }
}

/**
 * Writes a dataset to the cache atomically: each file goes to a temporary name
 * and is renamed into place, the header last, so a reader sees a whole entry
 * or none. A cache that cannot be written is logged, never fatal.
 */
export async function writeCache(cacheDir: string, key: string, dataset: ImageDataset, log: (line: string) => void): Promise<CachedDataset> {
  const paths = cachePaths(cacheDir, key);
  const tmp = `.${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}.tmp`;
  const header: CacheHeader = {
    format: CACHE_FORMAT,
    key,
    source: dataset.source,
    shape: dataset.shape,
    size: dataset.size,
    pixelBytes: dataset.pixels.length,
    labelCount: dataset.labels?.length ?? 0,
    classNames: dataset.classNames === undefined ? null : [...dataset.classNames],
    skipped: [...dataset.skipped],
  };
  const parts: Uint8Array[] = [dataset.pixels];
  if (dataset.labels !== undefined) parts.push(new Uint8Array(dataset.labels.buffer, dataset.labels.byteOffset, dataset.labels.byteLength));
  try {
    await mkdir(cacheDir, { recursive: true });
    await writeFile(paths.bin + tmp, Buffer.concat(parts));
    await rename(paths.bin + tmp, paths.bin);
    await writeFile(paths.header + tmp, `${JSON.stringify(header, null, 1)}\n`);
    await rename(paths.header + tmp, paths.header);
  } catch (error) {
    await rm(paths.bin + tmp, { force: true });
    await rm(paths.header + tmp, { force: true });
    log(`could not write the data cache in ${cacheDir}: ${(error as Error).message}`);
  }
  return { ...dataset, cache: { file: paths.bin, hit: false } };
}
