import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { definePlugin, mulberry32, type Augmentation, type AugmentationDraw } from '@duel/core';

/** The transforms DiffAugment (Zhao et al., 2020) composes, in the order they run. */
export const DIFF_AUGMENT_POLICIES = ['color', 'translation', 'cutout'] as const;
export type DiffAugmentPolicy = (typeof DIFF_AUGMENT_POLICIES)[number];

export const diffAugmentOptions = z
  .object({
    /** Which transforms to apply, in DiffAugment's order. @default [color, translation, cutout] */
    policy: z.array(z.enum(DIFF_AUGMENT_POLICIES)).min(1).default(['color', 'translation', 'cutout']),
    /** Largest shift, as a fraction of the side (the paper's 1/8). @default 0.125 */
    translation: z.number().min(0).max(0.5).default(0.125),
    /** Side of the erased square, as a fraction of the image side (the paper's 1/2). @default 0.5 */
    cutout: z.number().min(0).max(1).default(0.5),
  })
  .strict();
export type DiffAugmentOptions = z.output<typeof diffAugmentOptions>;

/** Per-image draws for one batch, made on the host from the batch's seed so every backend sees the same. */
interface Draws {
  brightness: Float32Array;
  saturation: Float32Array;
  contrast: Float32Array;
  /** Source pixel of every output pixel (batch-major), or -1 for a zero (shifted in or cut out). */
  source: Int32Array | undefined;
}

function drawBatch(options: DiffAugmentOptions, shape: readonly [number, number, number, number], seed: number): Draws {
  const [batch, height, width] = shape;
  const next = mulberry32(seed);
  const uniform = (n: number, low: number, high: number) => Float32Array.from({ length: n }, () => low + (high - low) * next());
  const has = (p: DiffAugmentPolicy) => options.policy.includes(p);
  const brightness = has('color') ? uniform(batch, -0.5, 0.5) : new Float32Array(0);
  const saturation = has('color') ? uniform(batch, 0, 2) : new Float32Array(0);
  const contrast = has('color') ? uniform(batch, 0.5, 1.5) : new Float32Array(0);
  if (!has('translation') && !has('cutout')) return { brightness, saturation, contrast, source: undefined };

  // Translation and cutout are both a choice of source pixel (or none) per output
  // pixel, so one gather does both, and its gradient is a scatter back to the sources.
  const source = new Int32Array(batch * height * width);
  const shiftY = Math.floor(height * options.translation + 0.5);
  const shiftX = Math.floor(width * options.translation + 0.5);
  const cutH = Math.floor(height * options.cutout + 0.5);
  const cutW = Math.floor(width * options.cutout + 0.5);
  const translating = has('translation');
  const cutting = has('cutout');
  const integer = (low: number, high: number) => low + Math.floor(next() * (high - low + 1));
  for (let b = 0; b < batch; b++) {
    const dy = translating ? integer(-shiftY, shiftY) : 0;
    const dx = translating ? integer(-shiftX, shiftX) : 0;
    // The square's centre may sit anywhere, so it can be clipped by the border.
    const cy = cutting ? integer(0, height - 1 + (1 - (cutH % 2))) : 0;
    const cx = cutting ? integer(0, width - 1 + (1 - (cutW % 2))) : 0;
    const top = cy - Math.floor(cutH / 2);
    const left = cx - Math.floor(cutW / 2);
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sy = y - dy;
        const sx = x - dx;
        const inside = sy >= 0 && sy < height && sx >= 0 && sx < width;
        const cut = cutting && y >= top && y < top + cutH && x >= left && x < left + cutW;
        source[(b * height + y) * width + x] = inside && !cut ? (b * height + sy) * width + sx : -1;
      }
    }
  }
  return { brightness, saturation, contrast, source };
}

/** Brightness, saturation and contrast, each by a random factor per image, on images in [-1, 1]. */
function color(images: tf.Tensor4D, draws: Draws): tf.Tensor4D {
  const batch = images.shape[0];
  const perImage = (values: Float32Array) => tf.tensor4d(values, [batch, 1, 1, 1]);
  let x = tf.add(images, perImage(draws.brightness));
  const channelMean = tf.mean(x, 3, true);
  x = tf.add(tf.mul(tf.sub(x, channelMean), perImage(draws.saturation)), channelMean);
  const imageMean = tf.mean(x, [1, 2, 3], true);
  return tf.add(tf.mul(tf.sub(x, imageMean), perImage(draws.contrast)), imageMean) as tf.Tensor4D;
}

/** Moves every output pixel's value from its source pixel; pixels with no source become 0. */
function resample(images: tf.Tensor4D, source: Int32Array): tf.Tensor4D {
  const [batch, height, width, channels] = images.shape;
  const pixels = batch * height * width;
  // Row `pixels` of the padded table is the zero that empty pixels take.
  const table = tf.concat([tf.reshape(images, [pixels, channels]), tf.zeros([1, channels])], 0);
  const indices = tf.tensor1d(source.map((s) => (s < 0 ? pixels : s)), 'int32');
  return tf.reshape(tf.gather(table, indices), [batch, height, width, channels]) as tf.Tensor4D;
}

/**
 * DiffAugment: the same random colour change, shift and cut-out applied to
 * real and fake batches before D sees them, differentiably, so the generator
 * learns through them and D cannot memorise a small training set.
 */
export class DiffAugment implements Augmentation {
  readonly name = 'diffaugment';
  constructor(private readonly options: DiffAugmentOptions) {}

  apply(images: tf.Tensor4D, draw: AugmentationDraw): tf.Tensor4D {
    return tf.tidy(() => {
      const draws = drawBatch(this.options, images.shape, draw.seed);
      let x = images;
      if (this.options.policy.includes('color')) x = color(x, draws);
      if (draws.source) x = resample(x, draws.source);
      return x;
    });
  }
}

export const diffAugment = definePlugin({
  kind: 'augment',
  name: 'diffaugment',
  description: 'DiffAugment: random colour, translation and cutout on real and fake batches, differentiable',
  options: diffAugmentOptions,
  create: (options) => new DiffAugment(options),
});
