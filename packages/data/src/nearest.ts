import * as tf from '@tensorflow/tfjs';
import { makeGrid, type GridOptions, type RasterImage } from './grid';
import { countImages, fromTensor, toTensor, type ImageBatch } from './tensors';

/** The training image closest to one sample. */
export interface NearestNeighbour {
  /** Index of the image in the dataset. */
  readonly index: number;
  /**
   * Mean absolute difference over all pixels, in the [-1, 1] units the book
   * compares in (0 = identical, 2 = opposite; x 127.5 for uint8 levels).
   */
  readonly meanAbsDiff: number;
}

/** Tuning of {@link nearestNeighbours}. */
export interface NearestOptions {
  /** Upper bound on the elements of one samples x chunk x pixels difference tensor. @default 2^24 (64 MiB) */
  maxElements?: number;
}

/**
 * For each sample, the dataset image with the least mean absolute difference
 * in pixel space: the book's memorisation check (ch. 4, "Analysis of the
 * DCGAN"). The dataset goes through tfjs in chunks sized so one difference
 * tensor stays under `maxElements`; every intermediate is disposed.
 *
 * @param samples - generator output in [-1, 1] (not disposed), or uint8 images.
 * @param dataset - uint8 images of the same shape as the samples.
 */
export async function nearestNeighbours(
  samples: tf.Tensor4D | ImageBatch,
  dataset: ImageBatch,
  options: NearestOptions = {},
): Promise<NearestNeighbour[]> {
  const { height, width, channels } = dataset.shape;
  const pixelsPerImage = height * width * channels;
  const sampleShape = samples instanceof tf.Tensor ? samples.shape.slice(1) : [samples.shape.height, samples.shape.width, samples.shape.channels];
  if (sampleShape.join('x') !== [height, width, channels].join('x')) {
    throw new RangeError(`nearestNeighbours: samples are ${sampleShape.join('x')}, the dataset ${height}x${width}x${channels}`);
  }
  const datasetSize = countImages(dataset);
  if (datasetSize === 0) throw new RangeError('nearestNeighbours: the dataset is empty');
  const sampleCount = samples instanceof tf.Tensor ? samples.shape[0] : countImages(samples);
  if (sampleCount === 0) return [];

  const best = Array.from({ length: sampleCount }, () => ({ index: -1, meanAbsDiff: Number.POSITIVE_INFINITY }));
  const chunkSize = Math.max(1, Math.floor((options.maxElements ?? 2 ** 24) / (sampleCount * pixelsPerImage)));
  const flat = tf.tidy(() => {
    const s = samples instanceof tf.Tensor ? samples.toFloat() : toTensor(samples);
    return s.reshape([sampleCount, 1, pixelsPerImage]);
  });
  try {
    for (let start = 0; start < datasetSize; start += chunkSize) {
      const end = Math.min(datasetSize, start + chunkSize);
      const indices = Int32Array.from({ length: end - start }, (_, i) => start + i);
      const [minimum, argMinimum] = tf.tidy(() => {
        const chunk = toTensor(dataset, indices).reshape([1, end - start, pixelsPerImage]);
        const distance = tf.mean(tf.abs(tf.sub(flat, chunk)), 2); // samples x chunk
        return [tf.min(distance, 1), tf.argMin(distance, 1)];
      });
      const [mins, args] = await Promise.all([minimum.data(), argMinimum.data()]);
      minimum.dispose();
      argMinimum.dispose();
      for (let s = 0; s < sampleCount; s++) {
        // Strictly less: on a tie the earlier image wins, as a single argmin would choose.
        if (mins[s]! < best[s]!.meanAbsDiff) best[s] = { index: start + args[s]!, meanAbsDiff: mins[s]! };
      }
    }
  } finally {
    flat.dispose();
  }
  return best;
}

/** Layout of {@link memorisationGrid}. */
export interface MemorisationGridOptions extends Omit<GridOptions, 'rows' | 'cols'> {
  /** Samples per row. @default 10 (the book) */
  cols?: number;
  /** Rows of samples, each followed by the row of their nearest training images. @default 3 (the book) */
  rows?: number;
}

/**
 * The book's memorisation figure: the first rows x cols samples, each row of
 * samples with the row of their nearest training images (mean absolute
 * difference) right below. Returns the raster (ready for {@link encodePng})
 * and the neighbours found.
 */
export async function memorisationGrid(
  samples: tf.Tensor4D | ImageBatch,
  dataset: ImageBatch,
  options: MemorisationGridOptions = {},
): Promise<RasterImage & { neighbours: NearestNeighbour[] }> {
  const cols = options.cols ?? 10;
  const rows = options.rows ?? 3;
  const all = samples instanceof tf.Tensor ? fromTensor(samples) : samples;
  const { height, width, channels } = all.shape;
  const imageBytes = height * width * channels;
  const count = Math.min(countImages(all), rows * cols);
  const shown: ImageBatch = { pixels: all.pixels.subarray(0, count * imageBytes), shape: all.shape };
  const neighbours = await nearestNeighbours(shown, dataset);

  const usedRows = Math.ceil(count / cols);
  const cells = new Uint8Array(usedRows * 2 * cols * imageBytes);
  const blank = new Uint8Array(imageBytes).fill(options.padValue ?? 255);
  for (let r = 0; r < usedRows; r++) {
    for (let c = 0; c < cols; c++) {
      const n = r * cols + c;
      const sampleCell = (2 * r * cols + c) * imageBytes;
      const neighbourCell = ((2 * r + 1) * cols + c) * imageBytes;
      if (n >= count) {
        cells.set(blank, sampleCell);
        cells.set(blank, neighbourCell);
        continue;
      }
      const nearest = neighbours[n]!.index;
      cells.set(shown.pixels.subarray(n * imageBytes, (n + 1) * imageBytes), sampleCell);
      cells.set(dataset.pixels.subarray(nearest * imageBytes, (nearest + 1) * imageBytes), neighbourCell);
    }
  }
  const grid = makeGrid({ pixels: cells, shape: all.shape }, { ...options, rows: usedRows * 2, cols });
  return { ...grid, neighbours };
}
