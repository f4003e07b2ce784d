import sharp from 'sharp';
import type { ImageBatch } from './tensors';
import { countImages } from './tensors';

/** A single image: pixels with their size. */
export interface RasterImage {
  readonly pixels: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3;
}

/** How {@link makeGrid} lays images out. */
export interface GridOptions {
  /** @default ceil(N / cols) */
  rows?: number;
  /** @default min(N, 10) (the book's strips and grids are 10 wide) */
  cols?: number;
  /** Pixels between cells and around the edge. @default 2 */
  pad?: number;
  /** Level of the padding and of empty cells. @default 255 (white, as a page) */
  padValue?: number;
}

/**
 * Tiles images row by row into one raster; cells beyond N stay `padValue`,
 * images beyond rows x cols are left out.
 */
export function makeGrid(images: ImageBatch, options: GridOptions = {}): RasterImage {
  const { height, width, channels } = images.shape;
  const count = countImages(images);
  const cols = Math.max(1, options.cols ?? Math.min(count, 10));
  const rows = Math.max(1, options.rows ?? Math.ceil(count / cols));
  const pad = options.pad ?? 2;
  const padValue = options.padValue ?? 255;
  const gridWidth = cols * width + (cols + 1) * pad;
  const gridHeight = rows * height + (rows + 1) * pad;
  const pixels = new Uint8Array(gridWidth * gridHeight * channels).fill(padValue);
  const rowBytes = width * channels;
  const imageBytes = height * rowBytes;
  for (let n = 0; n < Math.min(count, rows * cols); n++) {
    const x0 = pad + (n % cols) * (width + pad);
    const y0 = pad + Math.floor(n / cols) * (height + pad);
    for (let y = 0; y < height; y++) {
      const from = n * imageBytes + y * rowBytes;
      pixels.set(images.pixels.subarray(from, from + rowBytes), ((y0 + y) * gridWidth + x0) * channels);
    }
  }
  return { pixels, width: gridWidth, height: gridHeight, channels };
}

/** Encodes raw uint8 pixels (gray or RGB) as a PNG. */
export async function encodePng(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Promise<Buffer> {
  if (pixels.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${pixels.length} bytes is not ${width}x${height}x${channels}`);
  }
  const image = sharp(pixels, { raw: { width, height, channels } });
  // Without the explicit colourspace, one-band raw input would be written as RGB.
  return (channels === 1 ? image.toColourspace('b-w') : image).png().toBuffer();
}
