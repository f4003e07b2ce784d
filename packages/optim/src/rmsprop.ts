import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { commonOptions, KerasOptimizer, oneClipRule, oneClipRuleMessage } from './base';

export const rmspropOptions = z
  .object({
    /** @default 0.001 (Keras) */
    learningRate: z.number().positive().default(0.001),
    /** Decay of the running mean of g^2. @default 0.9 (Keras) */
    rho: z.number().min(0).lt(1).default(0.9),
    /** @default 0 (Keras) */
    momentum: z.number().min(0).lt(1).default(0),
    /** Added inside the square root (Keras). @default 1e-7 (Keras) */
    epsilon: z.number().positive().default(1e-7),
    /** Normalise by the variance estimate, not the raw second moment. @default false */
    centered: z.boolean().default(false),
    ...commonOptions,
  })
  .strict()
  .refine(oneClipRule, oneClipRuleMessage);
export type RmspropOptions = z.output<typeof rmspropOptions>;

/**
 * RMSprop as Keras 3 computes it (keras/src/optimizers/rmsprop.py):
 * v = rho v + (1 - rho) g^2; [a = rho a + (1 - rho) g; v' = v - a^2];
 * increment = lr g / sqrt(v' + eps); with momentum: mom = momentum mom + increment, var -= mom.
 */
export class Rmsprop extends KerasOptimizer {
  readonly name = 'rmsprop';
  constructor(private readonly options: RmspropOptions) {
    super(options);
  }

  protected slotNames(): string[] {
    const names = ['velocity'];
    if (this.options.momentum > 0) names.push('momentum');
    if (this.options.centered) names.push('average_gradient');
    return names;
  }

  protected update(variable: tf.Variable, g: tf.Tensor, slots: Record<string, tf.Variable>, lr: tf.Scalar): void {
    const { rho, momentum, epsilon, centered } = this.options;
    const velocity = slots['velocity']!;
    velocity.assign(tf.add(tf.mul(rho, velocity), tf.mul(1 - rho, tf.square(g))));
    let denominator: tf.Tensor;
    if (centered) {
      const average = slots['average_gradient']!;
      average.assign(tf.add(tf.mul(rho, average), tf.mul(1 - rho, g)));
      denominator = tf.add(tf.sub(velocity, tf.square(average)), epsilon);
    } else {
      denominator = tf.add(velocity, epsilon);
    }
    const increment = tf.div(tf.mul(lr, g), tf.sqrt(denominator));
    if (momentum > 0) {
      const mom = slots['momentum']!;
      mom.assign(tf.add(tf.mul(momentum, mom), increment));
      variable.assign(tf.sub(variable, mom));
    } else {
      variable.assign(tf.sub(variable, increment));
    }
  }
}
