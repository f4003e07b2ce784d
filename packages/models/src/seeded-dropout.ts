import * as tf from '@tensorflow/tfjs';
import type { StepRandom } from '@duel/core';
import { hasKernel, RANDOM_UNIFORM_KERNEL } from './fast-layers';

/** Arguments of {@link SeededDropout}. */
export interface SeededDropoutArgs {
  /** Fraction of units dropped in training, in [0, 1). */
  rate: number;
  /**
   * Where each training call takes its mask seed. Absent on a layer rebuilt
   * from a serialized config: such a layer works in inference only.
   */
  random?: StepRandom;
  name?: string;
}

/**
 * Dropout whose mask is seeded per call from the trainer's step randomness.
 *
 * Why not `tf.layers.dropout`: with a fixed `seed` it repeats the same mask at
 * every call, and without one it draws from `Math.random`, so a resumed run
 * could not repeat the interrupted one. Here every training call takes a fresh
 * seed from `random.nextSeed()`; the trainer restarts that source at each step,
 * so step k always gets the same masks. On 'tensorflow' with @duel/engine's
 * kernels the mask comes from TensorFlow's stateless Philox (DuelRandomUniform),
 * a pure function of the seed drawn inside TensorFlow rather than by a
 * JavaScript loop over every unit; elsewhere `tf.dropout` with a numeric seed
 * fills it from a seeded alea generator on the host. Both are deterministic
 * for a seed; their masks differ from each other.
 *
 * Kept units are scaled by 1 / (1 - rate) (inverted dropout, as Keras does).
 * In inference mode the layer is the identity.
 */
export class SeededDropout extends tf.layers.Layer {
  static className = 'SeededDropout';
  readonly rate: number;
  private readonly random: StepRandom | undefined;

  constructor(args: SeededDropoutArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    if (!(args.rate >= 0 && args.rate < 1)) throw new RangeError(`SeededDropout rate must be in [0, 1), got ${args.rate}`);
    this.rate = args.rate;
    this.random = args.random;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.rate === 0) return x;
    if (!this.random) {
      throw new Error(`SeededDropout '${this.name}' has no step randomness (rebuilt from a config?): build the network through its plugin to train it.`);
    }
    const seed = this.random.nextSeed();
    return tf.tidy(() => {
      if (!hasKernel(RANDOM_UNIFORM_KERNEL)) return tf.dropout(x, this.rate, undefined, seed);
      const u = tf.engine().runKernel(RANDOM_UNIFORM_KERNEL, {}, { shape: x.shape, seed }) as tf.Tensor;
      return tf.mul(x, tf.mul(tf.cast(tf.greaterEqual(u, this.rate), 'float32'), 1 / (1 - this.rate)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);
