import * as tf from '@tensorflow/tfjs';
import type { StepRandom } from '@duel/core';

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
 * so step k always gets the same masks. `tf.dropout` with a numeric seed fills
 * its mask from a seeded alea generator on the host, the same on every backend.
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
    return tf.tidy(() => tf.dropout(x, this.rate, undefined, seed));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate };
  }
}
tf.serialization.registerClass(SeededDropout);
