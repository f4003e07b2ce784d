import * as tf from '@tensorflow/tfjs';
import type { Optimizer, TensorMap } from '@duel/core';
import { z } from 'zod';
import { makeSchedule, scheduleSchema } from './schedules';
import type { EpochSchedule } from './schedules';

/** Options every optimizer takes besides its own (Keras' names in camelCase). */
export const commonOptions = {
  /** Per-epoch learning-rate schedule. @default { kind: 'constant' } */
  schedule: scheduleSchema.default({ kind: 'constant' }),
  /** Clip each gradient to this L2 norm (Keras `clipnorm`). */
  clipNorm: z.number().positive().optional(),
  /** Clip all gradients together to this global L2 norm (Keras `global_clipnorm`). */
  globalClipNorm: z.number().positive().optional(),
  /** Clip each gradient element to [-v, v] (Keras `clipvalue`). */
  clipValue: z.number().positive().optional(),
};

/** Keras allows one clipping rule at a time; so do we. */
export function oneClipRule(options: { clipNorm?: number | undefined; globalClipNorm?: number | undefined; clipValue?: number | undefined }): boolean {
  return [options.clipNorm, options.globalClipNorm, options.clipValue].filter((v) => v !== undefined).length <= 1;
}
export const oneClipRuleMessage = { message: 'set at most one of clipNorm, globalClipNorm, clipValue', path: ['clipNorm'] };

export interface CommonOptions {
  learningRate: number;
  schedule: z.output<typeof scheduleSchema>;
  clipNorm?: number | undefined;
  globalClipNorm?: number | undefined;
  clipValue?: number | undefined;
}

/** Clips like Keras' BaseOptimizer._clip_gradients. */
function clip(grads: readonly tf.Tensor[], options: CommonOptions): tf.Tensor[] {
  if (options.clipNorm !== undefined) {
    const c = options.clipNorm;
    return grads.map((g) => {
      const l2sum = tf.sum(tf.square(g), undefined, true);
      const l2norm = tf.where(tf.greater(l2sum, 0), tf.sqrt(tf.where(tf.greater(l2sum, 0), l2sum, tf.onesLike(l2sum))), l2sum);
      return tf.div(tf.mul(g, c), tf.maximum(l2norm, c));
    });
  }
  if (options.globalClipNorm !== undefined) {
    const c = options.globalClipNorm;
    const norm = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
    // Keras: scale = c * min(1 / norm, 1 / c), plus (norm - norm) so a non-finite norm makes it NaN.
    const scale = tf.add(tf.mul(c, tf.minimum(tf.div(1, norm), 1 / c)), tf.sub(norm, norm));
    return grads.map((g) => tf.mul(g, scale));
  }
  if (options.clipValue !== undefined) {
    const v = options.clipValue;
    return grads.map((g) => tf.clipByValue(g, -v, v));
  }
  return [...grads];
}

/**
 * What the Keras optimizers share: per-variable slots created on the first
 * update, an iteration count, clipping, a schedule, exact state export.
 *
 * Why not tf.train.*: tfjs' Adam puts epsilon elsewhere and folds the bias
 * correction differently from Keras; the book's numbers come from Keras.
 * Each update runs in one tf.tidy and writes variables with `assign`.
 */
export abstract class KerasOptimizer implements Optimizer {
  abstract readonly name: string;
  learningRate: number;
  /** The rate the schedule starts from (the `learningRate` option). */
  readonly baseLearningRate: number;
  private count = 0;
  /** slots[name][variable index] */
  private slots: Map<string, tf.Variable[]> | undefined;
  private shapes: number[][] | undefined;
  private readonly schedule: EpochSchedule;

  protected constructor(protected readonly common: CommonOptions) {
    this.learningRate = common.learningRate;
    this.baseLearningRate = common.learningRate;
    this.schedule = makeSchedule(common.schedule);
  }

  get iterations(): number {
    return this.count;
  }

  /** Slot names this optimizer keeps per variable, in a fixed order. */
  protected abstract slotNames(): string[];

  /**
   * One variable's update (inside a tidy). `step` is 1 for the first update,
   * as Keras' `iterations + 1`.
   */
  protected abstract update(variable: tf.Variable, gradient: tf.Tensor, slots: Record<string, tf.Variable>, learningRate: tf.Scalar, step: number): void;

  beginEpoch(epoch: number, totalEpochs: number): void {
    this.learningRate = this.schedule.rate(epoch, this.baseLearningRate, totalEpochs);
  }

  private ensureSlots(variables: readonly tf.Variable[]): Map<string, tf.Variable[]> {
    const shapes = variables.map((v) => [...v.shape]);
    if (this.slots && this.shapes) {
      const same = shapes.length === this.shapes.length && shapes.every((s, i) => s.join(',') === this.shapes![i]!.join(','));
      if (!same) throw new Error(`${this.name}: applied to other variables than before (${shapes.length} vs ${this.shapes.length} tensors or different shapes)`);
      return this.slots;
    }
    const slots = new Map<string, tf.Variable[]>();
    // tidy disposes the zeros' handles; the variables (not tracked by tidy) keep the data.
    for (const slot of this.slotNames()) slots.set(slot, tf.tidy(() => variables.map((v) => tf.variable(tf.zeros(v.shape, 'float32'), false))));
    this.slots = slots;
    this.shapes = shapes;
    return slots;
  }

  applyGradients(variables: readonly tf.Variable[], gradients: readonly tf.Tensor[]): void {
    if (variables.length !== gradients.length) throw new Error(`${this.name}: ${variables.length} variables but ${gradients.length} gradients`);
    gradients.forEach((g, i) => {
      if (g.shape.join(',') !== variables[i]!.shape.join(',')) throw new Error(`${this.name}: gradient ${i} has shape [${g.shape}] but its variable [${variables[i]!.shape}]`);
    });
    const slots = this.ensureSlots(variables);
    const step = this.count + 1;
    tf.tidy(() => {
      const clipped = clip(gradients, this.common);
      const lr = tf.scalar(this.learningRate, 'float32');
      variables.forEach((variable, i) => {
        const own: Record<string, tf.Variable> = {};
        for (const [name, list] of slots) own[name] = list[i]!;
        this.update(variable, clipped[i]!, own, lr, step);
      });
    });
    this.count = step;
  }

  getState(): { iterations: number; tensors: TensorMap } {
    const tensors: TensorMap = {};
    for (const [name, list] of this.slots ?? []) list.forEach((v, i) => (tensors[`${name}/${i}`] = tf.clone(v)));
    return { iterations: this.count, tensors };
  }

  setState(state: { iterations: number; tensors: TensorMap }, variables: readonly tf.Variable[]): void {
    this.disposeSlots();
    const keys = Object.keys(state.tensors);
    if (keys.length === 0 && state.iterations === 0) {
      this.count = 0;
      return;
    }
    const slots = this.ensureSlots(variables);
    const expected = new Set<string>();
    for (const [name, list] of slots) {
      list.forEach((slot, i) => {
        const key = `${name}/${i}`;
        expected.add(key);
        const value = state.tensors[key];
        if (!value) throw new Error(`${this.name}: the saved state has no '${key}'`);
        if (value.shape.join(',') !== slot.shape.join(',')) throw new Error(`${this.name}: saved '${key}' has shape [${value.shape}], its variable [${slot.shape}]`);
        tf.tidy(() => slot.assign(value.toFloat()));
      });
    }
    const extra = keys.filter((k) => !expected.has(k));
    if (extra.length > 0) throw new Error(`${this.name}: the saved state has unknown tensors: ${extra.join(', ')}`);
    this.count = state.iterations;
  }

  private disposeSlots(): void {
    for (const list of this.slots?.values() ?? []) for (const v of list) v.dispose();
    this.slots = undefined;
    this.shapes = undefined;
  }

  dispose(): void {
    this.disposeSlots();
  }
}
