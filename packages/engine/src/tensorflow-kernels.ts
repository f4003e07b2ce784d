import * as tf from '@tensorflow/tfjs';

/**
 * Kernels duel adds to backend 'tensorflow' (tfjs-node), each one TensorFlow
 * op run by name through the addon's eager API, where tfjs would otherwise
 * run a chain of small ops or a loop in JavaScript.
 *
 * Other packages reach them by NAME through tfjs' kernel registry, so they
 * need not import @duel/engine: call `tf.engine().runKernel(name, inputs,
 * attrs)` when `tf.getKernel(name, tf.getBackend())` is defined, and keep the
 * plain-tfjs code as the fallback (see packages/engine/README.md).
 */

/**
 * Batch normalisation in training mode, in one op each way
 * (FusedBatchNormV3 / FusedBatchNormGradV3, NHWC).
 *
 * inputs: `x` (N, H, W, C) float32, `scale` (C), `offset` (C);
 * attrs: `epsilon`;
 * outputs: `[y, mean, variance, r1, r2, r3]` where `mean` and `variance` are
 * the batch's (variance biased, divided by N*H*W, as Keras 3 and tfjs-layers
 * use it for the moving average); r1..r3 are what the gradient needs.
 * Gradient: x, scale and offset (mean and variance carry none).
 */
export const FUSED_BATCH_NORM = 'DuelFusedBatchNorm';

/**
 * U[0, 1) float32 draws of `shape` from TensorFlow's stateless Philox
 * generator, a pure function of `seed` (an int32), so a step that passes the
 * same seed repeats its draws. Not the same numbers as tf.randomUniform's JS
 * generator for the same seed. inputs: none; attrs: `shape`, `seed`.
 */
export const RANDOM_UNIFORM = 'DuelRandomUniform';

/**
 * LeakyRelu's input gradient in one op (TensorFlow's LeakyReluGrad) instead of
 * tfjs' greater + multiply + select. inputs: `dy`, `x`; attrs: `alpha`.
 * Reached through the LeakyRelu gradient this module registers, which falls
 * back to tfjs' own formula on backends without this kernel.
 */
export const LEAKY_RELU_GRAD = 'DuelLeakyReluGrad';

interface TfeAttr {
  name: string;
  type: number;
  value: boolean | number | string | number[];
}

/** What duel uses of tfjs-node's NodeJSKernelBackend. */
interface NodeBackend {
  binding: {
    TF_FLOAT: number;
    TF_INT32: number;
    TF_ATTR_TYPE: number;
    TF_ATTR_FLOAT: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
  };
  executeMultipleOutputs(name: string, attrs: TfeAttr[], inputs: tf.TensorInfo[], numOutputs: number): tf.Tensor[];
}

function batchNormAttrs(b: NodeBackend['binding'], epsilon: number, grad: boolean): TfeAttr[] {
  const attrs: TfeAttr[] = [
    { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'U', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    { name: 'epsilon', type: b.TF_ATTR_FLOAT, value: epsilon },
    { name: 'data_format', type: b.TF_ATTR_STRING, value: 'NHWC' },
    { name: 'is_training', type: b.TF_ATTR_BOOL, value: true },
  ];
  // The forward op also blends into running statistics; duel's layers keep their own, so factor 1 = none.
  if (!grad) attrs.push({ name: 'exponential_avg_factor', type: b.TF_ATTR_FLOAT, value: 1 });
  return attrs;
}

const fusedBatchNormKernel: tf.KernelConfig = {
  kernelName: FUSED_BATCH_NORM,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { x, scale, offset } = inputs as { x: tf.TensorInfo; scale: tf.TensorInfo; offset: tf.TensorInfo };
    const epsilon = (attrs as { epsilon: number }).epsilon;
    if (x.shape.length !== 4) throw new Error(`${FUSED_BATCH_NORM} wants NHWC input of rank 4, got shape [${x.shape}]`);
    const node = backend as unknown as NodeBackend;
    const none = tf.tensor1d([], 'float32');
    const [y, batchMean, batchVariance, r1, r2, r3] = node.executeMultipleOutputs(
      'FusedBatchNormV3', batchNormAttrs(node.binding, epsilon, false), [x, scale, offset, none, none], 6);
    none.dispose();
    // TensorFlow returns the unbiased variance (for its running average); duel's layers average the biased one.
    const n = x.shape[0]! * x.shape[1]! * x.shape[2]!;
    const variance = tf.mul(batchVariance!, n > 1 ? (n - 1) / n : 1);
    batchVariance!.dispose();
    return [y!, batchMean!, variance, r1!, r2!, r3!];
  },
};

const fusedBatchNormGradient: tf.GradConfig = {
  kernelName: FUSED_BATCH_NORM,
  inputsToSave: ['x', 'scale'],
  outputsToSave: [false, false, false, true, true, true],
  gradFunc: (dys, saved, attrs) => {
    const dy = (Array.isArray(dys) ? dys[0] : dys)!;
    const [x, scale, r1, r2, r3] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
    const node = tf.backend() as unknown as NodeBackend;
    // One op yields all three gradients; they are computed here, once, and handed out below.
    const [dx, dScale, dOffset, s4, s5] = node.executeMultipleOutputs(
      'FusedBatchNormGradV3', batchNormAttrs(node.binding, (attrs as { epsilon: number }).epsilon, true), [dy, x, scale, r1, r2, r3], 5);
    s4!.dispose();
    s5!.dispose();
    return { x: () => dx!, scale: () => dScale!, offset: () => dOffset! };
  },
};

const randomUniformKernel: tf.KernelConfig = {
  kernelName: RANDOM_UNIFORM,
  backendName: 'tensorflow',
  kernelFunc: ({ attrs, backend }) => {
    const { shape, seed } = attrs as unknown as { shape: number[]; seed: number };
    const node = backend as unknown as NodeBackend;
    const b = node.binding;
    const shapeTensor = tf.tensor1d(shape, 'int32');
    // Philox takes a 64-bit key as two int32; the second word tells duel's draws apart from TF's own defaults.
    const seedTensor = tf.tensor1d([seed | 0, 0x6475656c], 'int32');
    const [u] = node.executeMultipleOutputs('StatelessRandomUniform', [
      { name: 'dtype', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
      { name: 'Tseed', type: b.TF_ATTR_TYPE, value: b.TF_INT32 },
    ], [shapeTensor, seedTensor], 1);
    shapeTensor.dispose();
    seedTensor.dispose();
    return u!;
  },
};

const leakyReluGradKernel: tf.KernelConfig = {
  kernelName: LEAKY_RELU_GRAD,
  backendName: 'tensorflow',
  kernelFunc: ({ inputs, attrs, backend }) => {
    const { dy, x } = inputs as { dy: tf.TensorInfo; x: tf.TensorInfo };
    const node = backend as unknown as NodeBackend;
    const b = node.binding;
    return node.executeMultipleOutputs('LeakyReluGrad', [
      { name: 'alpha', type: b.TF_ATTR_FLOAT, value: (attrs as { alpha: number }).alpha },
      { name: 'T', type: b.TF_ATTR_TYPE, value: b.TF_FLOAT },
    ], [dy, x], 1)[0]!;
  },
};

/**
 * tfjs' LeakyRelu gradient, but in one kernel where the backend has
 * {@link LEAKY_RELU_GRAD}. Gradients are registered for all backends at once
 * (tfjs keys them by kernel name only), so the fallback is tfjs-core's own
 * formula: where(x > 0, dy, alpha * dy).
 */
const leakyReluGradient: tf.GradConfig = {
  kernelName: tf.LeakyRelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved as [tf.Tensor];
    const alpha = (attrs as { alpha: number }).alpha;
    return {
      x: () =>
        tf.getKernel(LEAKY_RELU_GRAD, tf.getBackend())
          ? (tf.engine().runKernel(LEAKY_RELU_GRAD, { dy: dy as tf.Tensor, x }, { alpha }) as tf.Tensor)
          : tf.where(tf.greater(x, 0), dy as tf.Tensor, tf.mul(dy as tf.Tensor, alpha)),
    };
  },
};

/** The kernels this module adds to 'tensorflow', by name. */
export const TENSORFLOW_ADDED_KERNELS: readonly string[] = [FUSED_BATCH_NORM, RANDOM_UNIFORM, LEAKY_RELU_GRAD];

let registered = false;

/** Registers duel's kernels for backend 'tensorflow' (idempotent). */
export function registerTensorflowKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel(fusedBatchNormKernel);
  tf.registerKernel(randomUniformKernel);
  tf.registerKernel(leakyReluGradKernel);
  tf.registerGradient(fusedBatchNormGradient);
  tf.registerGradient(leakyReluGradient);
}
