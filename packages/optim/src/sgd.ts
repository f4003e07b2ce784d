import * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { commonOptions, KerasOptimizer, oneClipRule, oneClipRuleMessage } from './base';

export const sgdOptions = z
  .object({
    /** @default 0.01 (Keras) */
    learningRate: z.number().positive().default(0.01),
    /** @default 0 (Keras) */
    momentum: z.number().min(0).lt(1).default(0),
    /** @default false (Keras) */
    nesterov: z.boolean().default(false),
    ...commonOptions,
  })
  .strict()
  .refine(oneClipRule, oneClipRuleMessage);
export type SgdOptions = z.output<typeof sgdOptions>;

/**
 * SGD as Keras 3 computes it (keras/src/optimizers/sgd.py):
 * m = momentum m - lr g; var += m, or with Nesterov var += momentum m - lr g.
 */
export class Sgd extends KerasOptimizer {
  readonly name = 'sgd';
  constructor(private readonly options: SgdOptions) {
    super(options);
  }

  protected slotNames(): string[] {
    return this.options.momentum !== 0 ? ['momentum'] : [];
  }

  protected update(variable: tf.Variable, g: tf.Tensor, slots: Record<string, tf.Variable>, lr: tf.Scalar): void {
    const { momentum, nesterov } = this.options;
    if (momentum === 0) {
      variable.assign(tf.sub(variable, tf.mul(g, lr)));
      return;
    }
    const m = slots['momentum']!;
    m.assign(tf.sub(tf.mul(m, momentum), tf.mul(g, lr)));
    if (nesterov) variable.assign(tf.add(variable, tf.sub(tf.mul(m, momentum), tf.mul(g, lr))));
    else variable.assign(tf.add(variable, m));
  }
}
