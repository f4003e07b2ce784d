import * as tf from '@tensorflow/tfjs';

/**
 * Faster training paths for tfjs-layers' BatchNormalization and Conv2D.
 *
 * Each class here extends the stock tfjs-layers class (taken from tfjs'
 * serialization registry, as tfjs exports only the factory functions) and
 * overrides `call` alone: the weights, their names and order, the config and
 * the class name stay the stock ones. So checkpoints stay compatible, and a
 * saved network loads back as the stock layers in any process, with or
 * without @duel/models imported; the inference path is the stock one.
 *
 * The fast paths use kernels that @duel/engine registers when the
 * 'tensorflow' backend activates. models may not import the engine, so they
 * are found by kernel name; without them (cpu, wasm, unit tests) the layers
 * run the stock code.
 */

/** Kernel of @duel/engine: TensorFlow's FusedBatchNormV3 in training mode, with its fused gradient. */
export const FUSED_BATCH_NORM_KERNEL = 'DuelFusedBatchNorm';
/** Kernel of @duel/engine: TensorFlow's stateless Philox U[0, 1), a pure function of its seed. */
export const RANDOM_UNIFORM_KERNEL = 'DuelRandomUniform';

/** Whether the active backend has the kernel `name`. */
export function hasKernel(name: string): boolean {
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

type LayerClass<Args> = new (args: Args) => tf.layers.Layer;

function stockLayerClass<Args>(className: string): LayerClass<Args> {
  const entry = tf.serialization.SerializationMap.getMap().classNameMap[className];
  if (!entry) throw new Error(`tfjs-layers has no registered layer class '${className}'`);
  return entry[0] as unknown as LayerClass<Args>;
}

type BatchNormalizationArgs = Parameters<typeof tf.layers.batchNormalization>[0];
type Conv2DArgs = Parameters<typeof tf.layers.conv2d>[0];

function onlyTensor(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

/**
 * BatchNormalization whose training path on 'tensorflow' is one fused op
 * each way (DuelFusedBatchNorm: FusedBatchNormV3 and FusedBatchNormGradV3)
 * instead of tf.moments + tf.batchNorm and some forty elementwise gradient
 * ops. The moving statistics update as tfjs-layers and Keras do,
 * moving = m * moving + (1 - m) * batch, with the biased batch variance.
 * Only NHWC rank-4 inputs normalised over the channels, with both gamma and
 * beta, take the fused path; anything else runs the stock code.
 */
export class FusedBatchNormalization extends stockLayerClass<BatchNormalizationArgs>('BatchNormalization') {
  declare readonly axis: number;
  declare readonly momentum: number;
  declare readonly epsilon: number;
  declare private gamma: tf.LayerVariable | null;
  declare private beta: tf.LayerVariable | null;
  declare private movingMean: tf.LayerVariable;
  declare private movingVariance: tf.LayerVariable;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const x = onlyTensor(inputs);
    const channelsLast = this.axis === -1 || this.axis === x.rank - 1;
    if (kwargs['training'] !== true || x.rank !== 4 || !channelsLast || !this.gamma || !this.beta || !hasKernel(FUSED_BATCH_NORM_KERNEL)) {
      return super.call(inputs, kwargs);
    }
    const { gamma, beta } = this;
    return tf.tidy(() => {
      // The outputs after y, mean and variance are the reserve the gradient needs; the tape holds them.
      const [y, mean, variance] = tf.engine().runKernel(FUSED_BATCH_NORM_KERNEL, { x, scale: gamma.read(), offset: beta.read() }, { epsilon: this.epsilon }) as tf.Tensor[];
      const decay = 1 - this.momentum;
      for (const [moving, batch] of [[this.movingMean, mean!], [this.movingVariance, variance!]] as const) {
        // tfjs-layers' own arithmetic: moving - (moving - batch) * (1 - m).
        const value = moving.read();
        moving.write(tf.sub(value, tf.mul(tf.sub(value, batch), decay)));
      }
      return y!;
    });
  }
}

/**
 * Conv2D without bias calling plain `tf.conv2d`. tf.layers.conv2d always runs
 * `tf.fused.conv2d`, whose gradient computes both the input and the filter
 * gradient on every backward pass, though a pass through a frozen network
 * needs only the first and the first layer needs only the second; tf.conv2d's
 * gradients are computed only where the tape asks for them. Same numbers, on
 * every backend. Layers with a bias, channels-first data or dilation run the
 * stock code.
 */
export class PlainConv2D extends stockLayerClass<Conv2DArgs>('Conv2D') {
  declare private kernel: tf.LayerVariable;
  declare readonly useBias: boolean;
  declare readonly strides: number[];
  declare readonly padding: 'valid' | 'same';
  declare readonly dataFormat: 'channelsFirst' | 'channelsLast';
  declare readonly dilationRate: number | number[];
  declare private activation: { apply(x: tf.Tensor): tf.Tensor } | null;

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor | tf.Tensor[] {
    const dilated = [this.dilationRate].flat().some((d) => d !== 1);
    if (this.useBias || this.dataFormat !== 'channelsLast' || dilated) return super.call(inputs, kwargs);
    const x = onlyTensor(inputs) as tf.Tensor4D;
    return tf.tidy(() => {
      const y = tf.conv2d(x, this.kernel.read() as tf.Tensor4D, this.strides as [number, number], this.padding);
      return this.activation ? this.activation.apply(y) : y;
    });
  }
}
