import * as tf from '@tensorflow/tfjs';
import type { ImageDataset } from '@duel/core';
import { UserInputError } from '@duel/core';
import type { FeatureMatrix } from './linalg';

/**
 * Maps images to feature vectors for FID, KID and precision/recall. Built by
 * an `extractor` plugin.
 */
export interface FeatureExtractor {
  /** The plugin name that built it ('domain-classifier', 'inception-v3'). */
  readonly id: string;
  /** Identifies the exact weights: results are comparable only under equal hashes. */
  readonly hash: string;
  /** Length of one feature vector. */
  readonly featureDim: number;
  /** Facts worth recording with a result (held-out accuracy, source path...). */
  readonly metadata: Readonly<Record<string, string | number | boolean>>;
  /**
   * Features of a batch of images in [-1, 1], NHWC, any size and 1 or 3
   * channels (the extractor resizes and converts). Row-major N x featureDim
   * on the host, or a Tensor2D the caller disposes. Never disposes `images`.
   */
  features(images: tf.Tensor4D): Promise<Float64Array | tf.Tensor2D>;
  /** Frees the extractor's weights. */
  dispose?(): void;
}

/** What an extractor plugin's factory receives besides its options. */
export interface ExtractorContext {
  /** The run's training images (the domain classifier trains on their labels). */
  readonly dataset?: ImageDataset;
  /** Folder for caches (trained classifiers); each extractor uses a sub-folder. */
  readonly cacheDir: string;
  /** Folder relative option paths resolve against. @default process.cwd() */
  readonly baseDir?: string;
  readonly log?: (line: string) => void;
  /** Loads another data part (an extractor's own training data); supplied by the assembly. */
  readonly loadData?: (part: { type: string; options?: Record<string, unknown> }) => Promise<ImageDataset>;
}

/** Which extractor produced a result. */
export interface ExtractorIdentity {
  readonly id: string;
  readonly hash: string;
  readonly featureDim: number;
}

/** The identity fields of an extractor, for recording with a result. */
export function extractorIdentity(extractor: Pick<FeatureExtractor, 'id' | 'hash' | 'featureDim'>): ExtractorIdentity {
  return { id: extractor.id, hash: extractor.hash, featureDim: extractor.featureDim };
}

/**
 * Throws unless both results came from the same extractor (same id and
 * hash): FIDs through different networks are different quantities, and
 * comparing them is meaningless.
 */
export function compareGuard(a: { extractor: ExtractorIdentity }, b: { extractor: ExtractorIdentity }): void {
  const x = a.extractor;
  const y = b.extractor;
  if (x.id !== y.id || x.hash !== y.hash) {
    throw new UserInputError(
      `cannot compare metrics from different feature extractors: ${x.id} (${x.hash.slice(0, 12)}) vs ${y.id} (${y.hash.slice(0, 12)}); evaluate both with the same extractor`,
    );
  }
}

/** Copies an extractor's output to the host as a feature matrix; disposes a tensor output. */
export async function toFeatureMatrix(output: Float64Array | tf.Tensor2D, rows: number, featureDim: number): Promise<FeatureMatrix> {
  let data: Float64Array;
  if (output instanceof Float64Array) {
    data = output;
  } else {
    try {
      data = Float64Array.from(await output.data());
    } finally {
      output.dispose();
    }
  }
  if (data.length !== rows * featureDim) throw new Error(`extractor returned ${data.length} values for ${rows} images of ${featureDim} features`);
  return { n: rows, d: featureDim, data };
}

/**
 * Resizes images to size x size (bilinear, as tf.image does) and converts
 * channels: gray is repeated to RGB, RGB is averaged with ITU-R BT.601
 * luma weights to gray. Values stay in [-1, 1].
 */
export function prepareImages(images: tf.Tensor4D, size: number, channels: 1 | 3): tf.Tensor4D {
  return tf.tidy(() => {
    const [, h, w, c] = images.shape;
    let x: tf.Tensor4D = images.toFloat();
    // Half-pixel centres: TF 2's tf.image.resize, which the Keras pipelines behind
    // published Inception FIDs use (tfjs' default samples corner-aligned, 0.8% off).
    if (h !== size || w !== size) x = tf.image.resizeBilinear(x, [size, size], false, true);
    if (c === channels) return x;
    if (c === 1 && channels === 3) return tf.tile(x, [1, 1, 1, 3]);
    if (c === 3 && channels === 1) return tf.sum(tf.mul(x, tf.tensor1d([0.299, 0.587, 0.114])), -1, true) as tf.Tensor4D;
    throw new UserInputError(`feature extractor: images have ${c} channels; expected 1 or 3`);
  });
}

/** Dataset pixels (uint8) of the listed images as a [-1, 1] float tensor. */
export function datasetBatch(dataset: ImageDataset, indices: ArrayLike<number>): tf.Tensor4D {
  const { height, width, channels } = dataset.shape;
  const per = height * width * channels;
  const out = new Float32Array(indices.length * per);
  for (let i = 0; i < indices.length; i++) {
    const at = indices[i]! * per;
    for (let k = 0; k < per; k++) out[i * per + k] = (dataset.pixels[at + k]! - 127.5) / 127.5;
  }
  return tf.tensor4d(out, [indices.length, height, width, channels]);
}
