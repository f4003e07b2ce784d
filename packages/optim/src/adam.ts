import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { commonOptions, KerasOptimizer, oneClipRule, oneClipRuleMessage } from './base';

export const adamOptions = z
  .object({
    /** @default 0.001 (Keras) */
    learningRate: z.number().positive().default(0.001),
    /** @default 0.9 (Keras) */
    beta1: z.number().min(0).lt(1).default(0.9),
    /** @default 0.999 (Keras) */
    beta2: z.number().min(0).lt(1).default(0.999),
    /** Added to sqrt(v), outside the root (Keras). @default 1e-7 (Keras) */
    epsilon: z.number().positive().default(1e-7),
    /** Use the running maximum of v (Reddi et al. 2018). @default false */
    amsgrad: z.boolean().default(false),
    ...commonOptions,
  })
  .strict()
  .refine(oneClipRule, oneClipRuleMessage);
export type AdamOptions = z.output<typeof adamOptions>;

/**
 * Adam as Keras 3 computes it (keras/src/optimizers/adam.py):
 * alpha = lr * sqrt(1 - b2^t) / (1 - b1^t); m += (g - m)(1 - b1);
 * v += (g^2 - v)(1 - b2); var -= alpha * m / (sqrt(v) + eps).
 * tfjs' tf.train.adam differs (epsilon placement), hence this class.
 */
export class Adam extends KerasOptimizer {
  readonly name = 'adam';
  constructor(private readonly options: AdamOptions) {
    super(options);
  }

  protected slotNames(): string[] {
    return this.options.amsgrad ? ['m', 'v', 'v_hat'] : ['m', 'v'];
  }

  protected update(variable: tf.Variable, g: tf.Tensor, slots: Record<string, tf.Variable>, lr: tf.Scalar, step: number): void {
    const { beta1, beta2, epsilon, amsgrad } = this.options;
    // Keras computes the bias corrections in float32 tensors; so do we (1 - beta2^t
    // loses digits in float32, and the step size should match Keras', not the exact one).
    const f = Math.fround;
    const b1Power = f(f(beta1) ** step);
    const b2Power = f(f(beta2) ** step);
    const alpha = tf.div(tf.mul(lr, f(Math.sqrt(f(1 - b2Power)))), f(1 - b1Power));
    const m = slots['m']!;
    let v: tf.Tensor = slots['v']!;
    m.assign(tf.add(m, tf.mul(tf.sub(g, m), 1 - beta1)));
    slots['v']!.assign(tf.add(v, tf.mul(tf.sub(tf.square(g), v), 1 - beta2)));
    v = slots['v']!;
    if (amsgrad) {
      const vHat = slots['v_hat']!;
      vHat.assign(tf.maximum(vHat, v));
      v = vHat;
    }
    variable.assign(tf.sub(variable, tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), epsilon))));
  }
}
