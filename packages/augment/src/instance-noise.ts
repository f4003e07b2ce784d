import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { definePlugin, type Augmentation, type AugmentationDraw } from '@duel/core';

export const instanceNoiseOptions = z
  .object({
    /** Standard deviation of the Gaussian noise at the start, in pixel units of [-1, 1]. @default 0.1 */
    sigma: z.number().positive().default(0.1),
    /**
     * Epochs over which sigma falls linearly to 0 (null: the whole run;
     * 0: no annealing, sigma stays). @default null
     */
    annealEpochs: z.number().nonnegative().nullable().default(null),
  })
  .strict();
export type InstanceNoiseOptions = z.output<typeof instanceNoiseOptions>;

/** The noise level at a point of the run. */
export function instanceNoiseSigma(options: InstanceNoiseOptions, draw: Pick<AugmentationDraw, 'epochs' | 'totalEpochs'>): number {
  const span = options.annealEpochs ?? draw.totalEpochs;
  if (span === 0) return options.sigma;
  return options.sigma * Math.max(0, 1 - draw.epochs / span);
}

/**
 * Instance noise (Sønderby et al., 2016): Gaussian noise on every image D
 * sees, real and fake, so the two distributions overlap and D's gradient
 * stays informative early on; annealed to nothing as training goes on.
 */
export class InstanceNoise implements Augmentation {
  readonly name = 'instance-noise';
  constructor(private readonly options: InstanceNoiseOptions) {}

  apply(images: tf.Tensor4D, draw: AugmentationDraw): tf.Tensor4D {
    const sigma = instanceNoiseSigma(this.options, draw);
    if (sigma === 0) return images;
    return tf.tidy(() => tf.add(images, tf.randomNormal(images.shape, 0, sigma, 'float32', draw.seed)) as tf.Tensor4D);
  }
}

export const instanceNoise = definePlugin({
  kind: 'augment',
  name: 'instance-noise',
  description: 'Gaussian noise on real and fake batches before D, annealed to zero',
  options: instanceNoiseOptions,
  create: (options) => new InstanceNoise(options),
});
