import * as tf from '@tensorflow/tfjs';
import { deriveSeed, Streams, UserInputError } from '@duel/core';
import type { BuiltNetwork, ImageShape, NetworkContext, StepRandom } from '@duel/core';
import { z } from 'zod';
import { FusedBatchNormalization, PlainConv2D } from './fast-layers';
import { SeededDropout } from './seeded-dropout';
import { SpectralNormConv } from './spectral-norm-conv';

/** Square image sizes the DCGAN builds: one stride-2 block per doubling. */
export const DCGAN_IMAGE_SIZES = [32, 64, 128] as const;

/** Options both DCGAN networks share (REFERENCE.md, "Generator", "Discriminator"). */
const sharedOptions = {
  /** Slope of LeakyReLU for negative inputs. @default 0.2 (the book) */
  leakySlope: z.number().min(0).max(1).default(0.2),
  /** Keras BatchNormalization momentum: moving = m * moving + (1 - m) * batch. @default 0.9 (the book) */
  bnMomentum: z.number().min(0).max(1).default(0.9),
  /** BatchNormalization epsilon. @default 1e-3 (Keras) */
  bnEpsilon: z.number().positive().default(1e-3),
  /** Filters of the block at the image's resolution; each block inward doubles them. @default 64 (the book) */
  baseFilters: z.number().int().positive().default(64),
  /** BatchNormalization after the inner convolutions. Critics trained with WGAN-GP usually go without. @default true */
  batchNorm: z.boolean().default(true),
  /** Spectral normalisation of every convolution kernel (Miyato et al. 2018), a stabiliser. @default false */
  spectralNorm: z.boolean().default(false),
  /**
   * Seed of the initial weights. Unset: the factory context's `seed` (the run
   * assembly derives it from the run seed). Same seed, same weights.
   */
  initSeed: z.number().int().nonnegative().optional(),
};

/** Options of `dcgan-generator`. */
export const generatorOptionsSchema = z
  .object({
    /** Length of the latent vector. @default 100 (the book) */
    latentDim: z.number().int().positive().default(100),
    ...sharedOptions,
  })
  .strict();
export type GeneratorOptions = z.output<typeof generatorOptionsSchema>;

/** Options of `dcgan-discriminator`. */
export const discriminatorOptionsSchema = z
  .object({
    /** Dropout rate after every LeakyReLU. @default 0.3 (the book) */
    dropout: z.number().min(0).lt(1).default(0.3),
    /** `probability`: a sigmoid on the last layer (the book, BCE losses); `logit`: none (hinge, WGAN). @default 'probability' */
    output: z.enum(['probability', 'logit']).default('probability'),
    ...sharedOptions,
  })
  .strict();
export type DiscriminatorOptions = z.output<typeof discriminatorOptionsSchema>;

/** Problems with an image shape for the DCGAN, as messages (empty when it builds). */
export function checkImageShape(shape: ImageShape | undefined): string[] {
  if (!shape) return [];
  const problems: string[] = [];
  if (shape.height !== shape.width || !(DCGAN_IMAGE_SIZES as readonly number[]).includes(shape.height)) {
    problems.push(`imageSize ${shape.height === shape.width ? shape.height : `${shape.height}x${shape.width}`} is not supported: use ${DCGAN_IMAGE_SIZES.join(', ')} (square)`);
  }
  if (shape.channels !== 1 && shape.channels !== 3) problems.push(`channels ${String(shape.channels)} is not supported: use 1 or 3`);
  return problems;
}

/** Number of convolution blocks between 4x4 and the image size (64 -> 4, as in the book). */
export function blockCount(shape: ImageShape): number {
  const problems = checkImageShape(shape);
  if (problems.length > 0) throw new UserInputError(`The DCGAN cannot be built for this data.`, problems.map((message) => ({ path: 'data.options', message })));
  return Math.log2(shape.height) - 2;
}

type Role = 'generator' | 'discriminator';

/** Per-layer seeds: each kernel draws from (initSeed, init stream, network, layer index). */
function seeder(initSeed: number | undefined, role: Role): () => number {
  let index = 0;
  const net = role === 'generator' ? 1 : 2;
  return () => deriveSeed(initSeed ?? 0, Streams.init, net, index++);
}

interface ConvSpec {
  name: string;
  filters: number;
  strides: number;
  padding: 'same' | 'valid';
  transpose: boolean;
  seed: number;
  spectralNorm: boolean;
  activation?: 'sigmoid' | 'tanh';
}

function conv(spec: ConvSpec): tf.layers.Layer {
  const common = { name: spec.name, filters: spec.filters, kernelSize: 4, strides: spec.strides, padding: spec.padding };
  const activation = spec.activation ? { activation: spec.activation } : {};
  if (spec.spectralNorm) return new SpectralNormConv({ ...common, ...activation, transpose: spec.transpose, seed: spec.seed });
  // The activation sits in the convolution, as in the book's Keras code (same layer list, same summary).
  const args = { ...common, ...activation, useBias: false, kernelInitializer: tf.initializers.glorotUniform({ seed: spec.seed }) };
  // PlainConv2D is a stock Conv2D whose backward pass computes only the gradients asked for.
  return spec.transpose ? tf.layers.conv2dTranspose(args) : new PlainConv2D(args);
}

function batchNorm(name: string, options: { bnMomentum: number; bnEpsilon: number }): tf.layers.Layer {
  // tfjs-layers' momentum has Keras' meaning (moving = momentum * moving + (1 - momentum) * batch)
  // and both use the biased batch variance for normalising and for the moving average.
  // FusedBatchNormalization is a stock BatchNormalization with a fused training path on 'tensorflow'.
  return new FusedBatchNormalization({ name, momentum: options.bnMomentum, epsilon: options.bnEpsilon });
}

/**
 * The book's generator (REFERENCE.md, "Generator"): latent -> 1x1 -> 4x4 by a
 * valid 4x4 transposed convolution, then stride-2 blocks doubling the size,
 * each transposed conv -> BatchNorm -> LeakyReLU, then a stride-2 transposed
 * convolution to the image channels with tanh. No biases anywhere.
 */
export function buildGenerator(options: GeneratorOptions, shape: ImageShape): tf.LayersModel {
  const blocks = blockCount(shape);
  const seed = seeder(options.initSeed, 'generator');
  const input = tf.input({ shape: [options.latentDim], name: 'z' });
  let x = tf.layers.reshape({ name: 'reshape', targetShape: [1, 1, options.latentDim] }).apply(input) as tf.SymbolicTensor;
  for (let i = 0; i < blocks; i++) {
    const filters = options.baseFilters * 2 ** (blocks - 1 - i);
    const first = i === 0;
    x = conv({ name: `deconv_${i + 1}`, filters, strides: first ? 1 : 2, padding: first ? 'valid' : 'same', transpose: true, seed: seed(), spectralNorm: options.spectralNorm }).apply(x) as tf.SymbolicTensor;
    if (options.batchNorm) x = batchNorm(`bn_${i + 1}`, options).apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ name: `leaky_relu_${i + 1}`, alpha: options.leakySlope }).apply(x) as tf.SymbolicTensor;
  }
  const output = conv({ name: 'deconv_out', filters: shape.channels, strides: 2, padding: 'same', transpose: true, seed: seed(), spectralNorm: options.spectralNorm, activation: 'tanh' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'generator', inputs: input, outputs: output });
}

/**
 * The book's discriminator (REFERENCE.md, "Discriminator"): stride-2 4x4
 * convolutions halving the size down to 4x4, each -> [BatchNorm but the first]
 * -> LeakyReLU -> Dropout, then a valid 4x4 convolution to one unit, a sigmoid
 * (output 'probability') and Flatten. No biases anywhere.
 */
export function buildDiscriminator(options: DiscriminatorOptions, shape: ImageShape, random: StepRandom | undefined): tf.LayersModel {
  const blocks = blockCount(shape);
  const seed = seeder(options.initSeed, 'discriminator');
  const input = tf.input({ shape: [shape.height, shape.width, shape.channels], name: 'image' });
  let x: tf.SymbolicTensor = input;
  for (let i = 0; i < blocks; i++) {
    const filters = options.baseFilters * 2 ** i;
    x = conv({ name: `conv_${i + 1}`, filters, strides: 2, padding: 'same', transpose: false, seed: seed(), spectralNorm: options.spectralNorm }).apply(x) as tf.SymbolicTensor;
    if (i > 0 && options.batchNorm) x = batchNorm(`bn_${i + 1}`, options).apply(x) as tf.SymbolicTensor;
    x = tf.layers.leakyReLU({ name: `leaky_relu_${i + 1}`, alpha: options.leakySlope }).apply(x) as tf.SymbolicTensor;
    x = new SeededDropout({ name: `dropout_${i + 1}`, rate: options.dropout, ...(random ? { random } : {}) }).apply(x) as tf.SymbolicTensor;
  }
  const activation = options.output === 'probability' ? { activation: 'sigmoid' as const } : {};
  x = conv({ name: 'conv_out', filters: 1, strides: 1, padding: 'valid', transpose: false, seed: seed(), spectralNorm: options.spectralNorm, ...activation }).apply(x) as tf.SymbolicTensor;
  const output = tf.layers.flatten({ name: 'flatten' }).apply(x) as tf.SymbolicTensor;
  return tf.model({ name: 'discriminator', inputs: input, outputs: output });
}

/** The option wins over the context's seed (which the run assembly derives from the run seed). */
function withInitSeed<T extends { initSeed?: number | undefined }>(options: T, context: NetworkContext): T {
  return options.initSeed !== undefined ? options : { ...options, initSeed: context.seed >>> 0 };
}

/** The generator factory a plugin calls. */
export function createGenerator(options: GeneratorOptions, context: NetworkContext): BuiltNetwork {
  return { model: buildGenerator(withInitSeed(options, context), context.imageShape), latentDim: options.latentDim };
}

/** The discriminator factory a plugin calls. */
export function createDiscriminator(options: DiscriminatorOptions, context: NetworkContext): BuiltNetwork {
  return { model: buildDiscriminator(withInitSeed(options, context), context.imageShape, context.random), output: options.output };
}
