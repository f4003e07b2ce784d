import sharp from 'sharp';

/** One decoded image at its own size, 8 bits per channel, row-major. */
export interface DecodedImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/**
 * Turns the bytes of an image file into pixels with the requested channels.
 * Injectable so tests can count decoder calls (a cache hit makes none).
 * Rejects with an Error whose message says why the bytes are not an image.
 */
export type ImageDecoder = (bytes: Uint8Array, channels: 1 | 3) => Promise<DecodedImage>;

/**
 * The default decoder, built on sharp (libvips): PNG (8 and 16 bit), JPEG,
 * WebP, GIF (first frame), TIFF (first page), AVIF. sharp's prebuilt binaries
 * read no BMP.
 *
 * - Alpha is removed by compositing over black (transparent pixels become 0).
 * - 16-bit samples become 8-bit through libvips, within one level of the
 *   high byte that libpng's strip-16 keeps.
 * - Grayscale is Rec. 601 luma of the sRGB values, 0.299 R + 0.587 G + 0.114 B:
 *   the weights of libjpeg and `tf.image.rgb_to_grayscale`. (libvips' `b-w`
 *   computes luminance in linear light instead, which makes pure red 127,
 *   not 76.) Gray sources come through unchanged.
 * - EXIF orientation is not applied, as TF's decoders do not apply it.
 */
export const sharpDecoder: ImageDecoder = async (bytes, channels) => {
  if (bytes.length === 0) throw new Error('empty file');
  // failOn 'error': a warning such as "extraneous bytes before marker" still
  // decodes (TF would read the file too); a truncated or garbled file does not.
  const image = sharp(bytes, { failOn: 'error', pages: 1 });
  const meta = await image.metadata();
  // A gray source read as gray skips the RGB round trip and the luma pass
  // (about a third of the decode time of the LEGO renders); the result is the same.
  const grayToGray = channels === 1 && (meta.channels ?? 3) <= 2;
  const { data, info } = await (meta.hasAlpha ? image.flatten({ background: { r: 0, g: 0, b: 0 } }) : image)
    .toColourspace(grayToGray ? 'b-w' : 'srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const expected = grayToGray ? 1 : 3;
  if (info.channels !== expected) throw new Error(`decoder returned ${info.channels} channels, expected ${expected}`);
  const raw = new Uint8Array(data.buffer, data.byteOffset, data.length);
  const base = { width: info.width, height: info.height };
  if (grayToGray) return { ...base, channels: 1, pixels: raw };
  if (channels === 3) return { ...base, channels: 3, pixels: raw };
  return { ...base, channels: 1, pixels: rgbToGray(raw) };
};

/** Rec. 601 luma, rounded; gray input (R = G = B) maps to itself. */
export function rgbToGray(rgb: Uint8Array): Uint8Array {
  const gray = new Uint8Array(rgb.length / 3);
  for (let i = 0, j = 0; i < gray.length; i++, j += 3) {
    gray[i] = Math.round(0.299 * rgb[j]! + 0.587 * rgb[j + 1]! + 0.114 * rgb[j + 2]!);
  }
  return gray;
}

/**
 * Runs `work` over `items` with at most `limit` calls in flight, results in
 * item order. sharp decodes on libuv's thread pool, so two in flight keep two
 * cores busy without flooding memory with pending buffers.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
