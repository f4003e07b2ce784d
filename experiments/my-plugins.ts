// A user's own plugins, registered from a file the experiment names
// (`plugins: ["./my-plugins.ts"]`). Each is a plain object: a name, a zod
// schema for its options and a factory.
import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { definePlugin, type Callback, type GanLoss } from '@duel/core';

/** Relativistic average GAN loss (Jolicoeur-Martineau, 2018), on D's logits. */
export const relativisticAverage = definePlugin({
  kind: 'loss',
  name: 'relativistic-average',
  description: 'RaGAN: is a real image more realistic than the average fake? (logits)',
  options: z.object({}).strict(),
  expects: 'logit',
  create: (): GanLoss => ({
    expects: 'logit',
    discriminatorLoss: ({ real, fake }) =>
      tf.tidy(() => tf.add(tf.mean(tf.softplus(tf.neg(tf.sub(real, tf.mean(fake))))), tf.mean(tf.softplus(tf.sub(fake, tf.mean(real))))).div(2) as tf.Scalar),
    // Without the real batch the generator half uses the fake batch's own mean as the reference.
    generatorLoss: (fake) => tf.tidy(() => tf.mean(tf.softplus(tf.neg(tf.sub(fake, tf.mean(fake))))) as tf.Scalar),
  }),
});

/** A callback that prints the gap between D's scores on real and fake images. */
export const scoreGap = definePlugin({
  kind: 'callback',
  name: 'score-gap',
  description: 'logs D(x) - D(G(z)) after each epoch',
  options: z.object({ warnAbove: z.number().default(0.9) }).strict(),
  create: (options): Callback => ({
    name: 'score-gap',
    onEpochEnd(view, metrics) {
      const gap = metrics.d_real_mean - metrics.d_fake_mean;
      metrics['score_gap'] = gap;
      view.log(`score gap ${gap.toFixed(3)}${gap > options.warnAbove ? ' (the discriminator is winning)' : ''}`);
    },
  }),
});

export default [relativisticAverage, scoreGap];
