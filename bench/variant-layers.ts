/**
 * Prototype layers for @duel/models, measured by the throughput benchmark
 * (`--net variant`). They use the engine's kernels through @duel/engine's
 * fast-ops (models would copy those few lines; see packages/engine/README.md):
 *
 * - FusedBatchNorm: BatchNormalization(momentum, epsilon) whose training path
 *   is one TensorFlow op each way (DuelFusedBatchNorm) instead of moments +
 *   batchNorm and ~40 elementwise gradient ops.
 * - FastSeededDropout: the mask from TensorFlow's Philox (DuelRandomUniform)
 *   instead of a JavaScript loop over every unit.
 * - PlainConv2D: tf.conv2d without bias, so each backward pass computes only
 *   the gradients it needs (tf.layers.conv2d goes through tf.fused.conv2d,
 *   whose customGrad always computes both dx and dW).
 */
import * as tf from '@tensorflow/tfjs';
import type { StepRandom } from '@duel/core';
import { batchNormTraining, seededDropout } from '@duel/engine';

export class FusedBatchNorm extends tf.layers.Layer {
  static className = 'DuelFusedBatchNorm';
  private gamma!: tf.LayerVariable;
  private beta!: tf.LayerVariable;
  private movingMean!: tf.LayerVariable;
  private movingVariance!: tf.LayerVariable;
  constructor(private readonly args: { name?: string; momentum: number; epsilon: number }) {
    super(args.name ? { name: args.name } : {});
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const c = shape[shape.length - 1]!;
    this.gamma = this.addWeight('gamma', [c], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [c], 'float32', tf.initializers.zeros());
    this.movingMean = this.addWeight('moving_mean', [c], 'float32', tf.initializers.zeros(), undefined, false);
    this.movingVariance = this.addWeight('moving_variance', [c], 'float32', tf.initializers.ones(), undefined, false);
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    const gamma = this.gamma.read() as tf.Tensor1D;
    const beta = this.beta.read() as tf.Tensor1D;
    if (kwargs['training'] !== true) {
      return tf.batchNorm4d(x, this.movingMean.read() as tf.Tensor1D, this.movingVariance.read() as tf.Tensor1D, beta, gamma, this.args.epsilon);
    }
    const { y, mean, variance } = batchNormTraining(x, gamma, beta, this.args.epsilon);
    const m = this.args.momentum;
    tf.tidy(() => {
      this.movingMean.write(tf.add(tf.mul(this.movingMean.read(), m), tf.mul(mean, 1 - m)));
      this.movingVariance.write(tf.add(tf.mul(this.movingVariance.read(), m), tf.mul(variance, 1 - m)));
    });
    mean.dispose();
    variance.dispose();
    return y;
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), momentum: this.args.momentum, epsilon: this.args.epsilon };
  }
}

export class FastSeededDropout extends tf.layers.Layer {
  static className = 'DuelFastSeededDropout';
  constructor(private readonly args: { name?: string; rate: number; random: StepRandom }) {
    super(args.name ? { name: args.name } : {});
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true || this.args.rate === 0) return x;
    return seededDropout(x, this.args.rate, this.args.random.nextSeed());
  }
}

export class PlainConv2D extends tf.layers.Layer {
  static className = 'DuelPlainConv2D';
  private kernel!: tf.LayerVariable;
  constructor(private readonly args: { name?: string; filters: number; kernelSize: number; strides: number; padding: 'same' | 'valid'; seed: number }) {
    super(args.name ? { name: args.name } : {});
  }
  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const k = this.args.kernelSize;
    this.kernel = this.addWeight('kernel', [k, k, shape[shape.length - 1]!, this.args.filters], 'float32', tf.initializers.glorotUniform({ seed: this.args.seed }));
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const size = (n: number) => (this.args.padding === 'same' ? Math.ceil(n / this.args.strides) : Math.floor((n - this.args.kernelSize) / this.args.strides) + 1);
    return [s[0]!, size(s[1]!), size(s[2]!), this.args.filters];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    return tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.args.strides, this.args.padding);
  }
}

/** Which of the prototype layers a variant network uses. */
export interface Variant {
  fusedBatchNorm: boolean;
  fastDropout: boolean;
  plainConv: boolean;
}

/** The book's 64x64 generator with the variant's layers. */
export function variantGenerator(v: Variant, channels: number, seed: number): tf.LayersModel {
  const input = tf.input({ shape: [100] });
  let x = tf.layers.reshape({ targetShape: [1, 1, 100] }).apply(input) as tf.SymbolicTensor;
  const bn = () => (v.fusedBatchNorm ? new FusedBatchNorm({ momentum: 0.9, epsilon: 1e-3 }) : tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 }));
  [512, 256, 128, 64].forEach((filters, i) => {
    x = tf.layers.conv2dTranspose({ filters, kernelSize: 4, strides: i === 0 ? 1 : 2, padding: i === 0 ? 'valid' : 'same', useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) }).apply(x) as tf.SymbolicTensor;
    x = bn().apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as tf.SymbolicTensor;
  });
  x = tf.layers.conv2dTranspose({ filters: channels, kernelSize: 4, strides: 2, padding: 'same', useBias: false, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 9 }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** The book's 64x64 discriminator with the variant's layers. */
export function variantDiscriminator(v: Variant, channels: number, seed: number, random: StepRandom): tf.LayersModel {
  const input = tf.input({ shape: [64, 64, channels] });
  let x: tf.SymbolicTensor = input;
  const conv = (filters: number, strides: number, padding: 'same' | 'valid', i: number) =>
    v.plainConv
      ? new PlainConv2D({ filters, kernelSize: 4, strides, padding, seed: seed + i })
      : tf.layers.conv2d({ filters, kernelSize: 4, strides, padding, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + i }) });
  [64, 128, 256, 512].forEach((filters, i) => {
    x = conv(filters, 2, 'same', i).apply(x) as tf.SymbolicTensor;
    if (i > 0) x = (v.fusedBatchNorm ? new FusedBatchNorm({ momentum: 0.9, epsilon: 1e-3 }) : tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-3 })).apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ alpha: 0.2 }).apply(x) as tf.SymbolicTensor;
    x = (v.fastDropout ? new FastSeededDropout({ rate: 0.3, random }) : new JsSeededDropout({ rate: 0.3, random })).apply(x) as tf.SymbolicTensor;
  });
  x = conv(1, 1, 'valid', 9).apply(x) as tf.SymbolicTensor;
  x = tf.layers.activation({ activation: 'sigmoid' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: x });
}

/** Dropout with a seeded mask drawn in JavaScript (tf.dropout), as @duel/models' SeededDropout does today. */
class JsSeededDropout extends tf.layers.Layer {
  static className = 'DuelJsSeededDropout';
  constructor(private readonly args: { rate: number; random: StepRandom }) {
    super({});
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    if (kwargs['training'] !== true) return x;
    const seed = this.args.random.nextSeed();
    return tf.tidy(() => tf.dropout(x, this.args.rate, undefined, seed));
  }
}
