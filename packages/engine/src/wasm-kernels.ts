import * as tf from '@tensorflow/tfjs';

/**
 * Kernels @tensorflow/tfjs-backend-wasm 4.22 lacks for training the book's
 * DCGAN. Found by running the training step on 'wasm' and diffing the kernels
 * the 'cpu' backend ran against those wasm registers: only
 * Conv2DBackpropFilter (the filter gradient of every convolution, and of
 * every transposed convolution's forward-to-filter path) is missing. Its
 * siblings (Conv2DBackpropInput, FusedConv2D, FusedBatchNorm, LeakyRelu,
 * Select, ...) exist natively; the unit tests check the gradients they give
 * against the 'cpu' backend's.
 */

type Tensor4D = tf.Tensor4D;

/** Wraps a kernel input as a Tensor (ops called from a kernel need Tensors, not bare TensorInfos). */
function asTensor(info: tf.TensorInfo): { tensor: tf.Tensor; owned: boolean } {
  if (info instanceof tf.Tensor) return { tensor: info, owned: false };
  return { tensor: tf.engine().makeTensorFromTensorInfo(info), owned: true };
}

/**
 * The filter gradient of an NHWC convolution from ops wasm runs natively:
 * for each filter tap (kh, kw), the input pixels that tap saw form a strided
 * slice of the padded input, and dW[kh, kw] = slice^T . dy, one matrix
 * product of [N*OH*OW, Cin]^T by [N*OH*OW, Cout]. Same FLOPs as the
 * convolution, spent in XNNPACK's matmul instead of a scalar loop.
 */
export function conv2dBackpropFilterByTaps(
  x: Tensor4D,
  dy: Tensor4D,
  filterShape: [number, number, number, number],
  strides: [number, number] | number,
  pad: tf.Conv2DBackpropFilterAttrs['pad'],
  dilations: [number, number] | number = 1,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, strides, dilations, pad, dimRoundingMode, false, 'channelsLast');
  const { top, bottom, left, right } = info.padInfo;
  const [kh, kw, cin, cout] = filterShape;
  const { batchSize: n, outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  return tf.tidy(() => {
    const padded = top + bottom + left + right > 0 ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const dy2 = tf.reshape(dy, [n * oh * ow, cout]);
    const taps: tf.Tensor[] = [];
    for (let i = 0; i < kh; i++) {
      for (let j = 0; j < kw; j++) {
        taps.push(
          tf.tidy(() => {
            const begin = [0, i * dh, j * dw, 0];
            const end = [n, i * dh + (oh - 1) * sh + 1, j * dw + (ow - 1) * sw + 1, cin];
            const seen = tf.stridedSlice(padded, begin, end, [1, sh, sw, 1]);
            return tf.matMul(tf.reshape(seen, [n * oh * ow, cin]), dy2, true, false);
          }),
        );
      }
    }
    return tf.reshape(tf.stack(taps), filterShape);
  });
}

const conv2dBackpropFilterWasm: tf.KernelConfig = {
  kernelName: tf.Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.TensorInfo; dy: tf.TensorInfo };
    const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as tf.Conv2DBackpropFilterAttrs;
    const xs = asTensor(x);
    const dys = asTensor(dy);
    try {
      return tf.tidy(() => {
        const nchw = dataFormat === 'NCHW';
        const x4 = (nchw ? tf.transpose(xs.tensor, [0, 2, 3, 1]) : xs.tensor) as Tensor4D;
        const dy4 = (nchw ? tf.transpose(dys.tensor, [0, 2, 3, 1]) : dys.tensor) as Tensor4D;
        return conv2dBackpropFilterByTaps(x4, dy4, filterShape, strides, pad, 1, dimRoundingMode);
      });
    } finally {
      if (xs.owned) xs.tensor.dispose();
      if (dys.owned) dys.tensor.dispose();
    }
  },
};

/** The kernels this module adds to 'wasm', by name. */
export const WASM_ADDED_KERNELS: readonly string[] = [tf.Conv2DBackpropFilter];

let registered = false;

/**
 * Registers the kernels 'wasm' lacks for training (idempotent; a kernel wasm
 * already has is left alone, so a later tfjs that ships its own wins).
 */
export function registerWasmTrainingKernels(): void {
  if (registered) return;
  registered = true;
  for (const config of [conv2dBackpropFilterWasm]) {
    if (!tf.getKernel(config.kernelName, 'wasm')) tf.registerKernel(config);
  }
}
