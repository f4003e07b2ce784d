/**
 * The embedded default: the book's DCGAN recipe on Fashion-MNIST (Debian's
 * dataset-fashion-mnist), at 32x32 and on a subset sized so that a useful run
 * finishes in minutes on two CPU cores. `experiments/dcgan-fashion-mnist.yaml`
 * is the same experiment as a file (a test keeps them equal).
 */
export const DEFAULT_EXPERIMENT: Record<string, unknown> = {
  name: 'dcgan-fashion-mnist',
  description: "The book's DCGAN recipe on Fashion-MNIST at 32x32 (the embedded default).",
  seed: 42,
  data: { type: 'fashion-mnist', options: { split: 'train', imageSize: 32, limit: 12800 } },
  model: { generator: { type: 'dcgan-generator', options: {} }, discriminator: { type: 'dcgan-discriminator', options: {} } },
  loss: { type: 'bce-label-noise', options: { noise: 0.1 } },
  optimizers: {
    generator: { type: 'adam', options: { learningRate: 0.0002, beta1: 0.5, beta2: 0.999 } },
    discriminator: { type: 'adam', options: { learningRate: 0.0002, beta1: 0.5, beta2: 0.999 } },
  },
  trainer: { epochs: 10, batchSize: 128, updateMode: 'simultaneous' },
  callbacks: [{ type: 'sample-grid', options: { rows: 4, cols: 8 } }, { type: 'memorisation', options: {} }],
  tracking: [{ type: 'local', options: {} }],
};
