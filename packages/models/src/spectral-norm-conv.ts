import * as tf from '@tensorflow/tfjs';

/** Arguments of {@link SpectralNormConv}. */
export interface SpectralNormConvArgs {
  filters: number;
  kernelSize: number;
  strides: number;
  padding: 'same' | 'valid';
  /** A transposed convolution (generator) instead of a convolution. */
  transpose: boolean;
  /** Seed of the kernel's glorot-uniform draw and of the power-iteration vector. */
  seed: number;
  /** Applied after the convolution. */
  activation?: 'sigmoid' | 'tanh';
  /** Power iterations per training call. @default 1 */
  powerIterations?: number;
  name?: string;
}

/** Identity forward, zero gradient: tfjs has no stop_gradient op. */
const stopGradient = tf.customGrad(((x: tf.Tensor) => ({ value: tf.clone(x), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);

function l2normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.add(tf.norm(x), 1e-12));
}

/**
 * A bias-free (transposed) convolution whose kernel is divided by its largest
 * singular value, estimated by power iteration (Miyato et al. 2018, "Spectral
 * Normalization for Generative Adversarial Networks"). The kernel is viewed as
 * a matrix of shape [-1, last kernel dimension], as the paper's code does; the
 * power-iteration vector `u` is a non-trainable weight, updated once per
 * training call and kept (so it is part of a checkpoint).
 */
export class SpectralNormConv extends tf.layers.Layer {
  static className = 'SpectralNormConv';
  private readonly args: SpectralNormConvArgs;
  private kernel: tf.LayerVariable | undefined;
  private u: tf.LayerVariable | undefined;

  constructor(args: SpectralNormConvArgs) {
    super(args.name === undefined ? {} : { name: args.name });
    this.args = { powerIterations: 1, ...args };
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inChannels = shape[shape.length - 1];
    if (typeof inChannels !== 'number') throw new Error(`${this.name}: the channel dimension must be known`);
    const { kernelSize: k, filters, transpose, seed } = this.args;
    const kernelShape = transpose ? [k, k, filters, inChannels] : [k, k, inChannels, filters];
    this.kernel = this.addWeight('kernel', kernelShape, 'float32', tf.initializers.glorotUniform({ seed }));
    const last = kernelShape[3]!;
    this.u = this.addWeight('sn_u', [1, last], 'float32', tf.initializers.randomNormal({ mean: 0, stddev: 1, seed: (seed ^ 0x5bd1e995) >>> 0 }), undefined, false);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const [batch, h, w] = shape;
    const { kernelSize: k, strides: s, padding, filters, transpose } = this.args;
    const size = (n: number | null | undefined): number | null => {
      if (n == null) return null;
      if (transpose) return padding === 'same' ? n * s : (n - 1) * s + k;
      return padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1;
    };
    return [batch ?? null, size(h), size(w), filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      const kernel = this.kernel!.read() as tf.Tensor4D;
      const last = kernel.shape[3];
      const matrix = tf.reshape(kernel, [-1, last]) as tf.Tensor2D;
      const frozen = stopGradient(matrix) as tf.Tensor2D;
      let u = this.u!.read() as tf.Tensor2D;
      let v = l2normalize(tf.matMul(u, frozen, false, true)) as tf.Tensor2D;
      if (kwargs['training'] === true) {
        for (let i = 0; i < this.args.powerIterations!; i++) {
          u = l2normalize(tf.matMul(v, frozen)) as tf.Tensor2D;
          v = l2normalize(tf.matMul(u, frozen, false, true)) as tf.Tensor2D;
        }
        this.u!.write(u);
      }
      // sigma = v W u^T, differentiable in W only.
      const sigma = tf.sum(tf.mul(tf.matMul(v, matrix), u));
      const normalized = tf.div(kernel, sigma) as tf.Tensor4D;
      const { strides: s, padding, transpose, activation } = this.args;
      let y: tf.Tensor4D;
      if (transpose) {
        const out = this.computeOutputShape(x.shape) as number[];
        y = tf.conv2dTranspose(x, normalized, [x.shape[0], out[1]!, out[2]!, out[3]!], s, padding);
      } else {
        y = tf.conv2d(x, normalized, s, padding);
      }
      return activation === 'sigmoid' ? tf.sigmoid(y) : activation === 'tanh' ? tf.tanh(y) : y;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { filters, kernelSize, strides, padding, transpose, seed, powerIterations, activation } = this.args;
    return { ...super.getConfig(), filters, kernelSize, strides, padding, transpose, seed, powerIterations: powerIterations ?? 1, activation: activation ?? null };
  }
}
tf.serialization.registerClass(SpectralNormConv);
