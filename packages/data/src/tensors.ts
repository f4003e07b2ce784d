import * as tf from '@tensorflow/tfjs';
import { imageBatch, type ImageDataset, type ImageShape } from '@duel/core';

/** uint8 images with their shape: a dataset, a batch of samples, a grid. */
export interface ImageBatch {
  /** N x H x W x C, row-major. */
  readonly pixels: Uint8Array;
  readonly shape: ImageShape;
}

/** How many images a batch holds. */
export function countImages(batch: ImageBatch): number {
  const { height, width, channels } = batch.shape;
  return batch.pixels.length / (height * width * channels);
}

/** One uint8 level in [-1, 1] units, as the book scales: (x - 127.5) / 127.5. */
export function scalePixel(x: number): number {
  return (x - 127.5) / 127.5;
}

/**
 * Gathers images of a dataset into a float32 N x H x W x C tensor scaled to
 * [-1, 1] by (x - 127.5) / 127.5 (the book, ch. 4). The caller owns it.
 *
 * @param indices - which images, in batch order (a shuffled slice); all of them when omitted.
 */
export function toTensor(dataset: ImageBatch | ImageDataset, indices?: ArrayLike<number>): tf.Tensor4D {
  return imageBatch(dataset, indices);
}

/**
 * Turns images in [-1, 1] (a generator's tanh output) back into uint8 levels:
 * clipped to [-1, 1], mapped by x * 127.5 + 127.5, rounded half up. Disposes nothing.
 */
export function toUint8(images: tf.Tensor): Uint8Array {
  const values = images.dataSync();
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(1, Math.max(-1, values[i]!));
    out[i] = Math.round(v * 127.5 + 127.5);
  }
  return out;
}

/** A tensor of images in [-1, 1] as an {@link ImageBatch} of uint8. */
export function fromTensor(images: tf.Tensor4D): ImageBatch {
  const [, height, width, channels] = images.shape;
  if (channels !== 1 && channels !== 3) throw new RangeError(`fromTensor: ${channels} channels (expected 1 or 3)`);
  return { pixels: toUint8(images), shape: { height, width, channels } };
}
