import * as tf from '@tensorflow/tfjs';
import { Container } from 'inversify';
import { PluginToken, SeededStepRandom, UserInputError } from '@duel/core';
import type { AnyPlugin, BuiltNetwork, ImageShape } from '@duel/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDiscriminator, buildGenerator, discriminatorOptionsSchema, generatorOptionsSchema } from './dcgan';
import { dcganDiscriminator, dcganGenerator, modelsModule, summary } from './index';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const square = (size: number, channels: 1 | 3 = 1): ImageShape => ({ height: size, width: size, channels });
const G = (options: Record<string, unknown> = {}) => generatorOptionsSchema.parse(options);
const D = (options: Record<string, unknown> = {}) => discriminatorOptionsSchema.parse(options);
const random = () => new SeededStepRandom(1, 3);

describe('parameter counts (REFERENCE.md tables; 32 and 128 px add or remove one block per side)', () => {
  // Worked out by hand from the layer tables: kernels 4*4*in*out, BatchNorm 4 per channel.
  const cases: [number, 1 | 3, number, number][] = [
    [32, 1, 1_067_776, 662_016],
    [32, 3, 1_069_824, 664_064],
    [64, 1, 3_576_576, 2_765_312],
    [64, 3, 3_578_624, 2_767_360],
    [128, 1, 12_788_480, 11_166_208],
    [128, 3, 12_790_528, 11_168_256],
  ];
  it.each(cases)('%i px x %i channels: generator %i, discriminator %i', (size, channels, gParams, dParams) => {
    const g = buildGenerator(G(), square(size, channels));
    const d = buildDiscriminator(D(), square(size, channels), random());
    expect(g.countParams()).toBe(gParams);
    expect(d.countParams()).toBe(dParams);
    expect(g.outputs[0]!.shape).toEqual([null, size, size, channels]);
    expect(d.inputs[0]!.shape).toEqual([null, size, size, channels]);
    expect(d.outputs[0]!.shape).toEqual([null, 1]);
    g.dispose();
    d.dispose();
  });

  it("64x64x1 splits like the book's: 1,920 and 1,792 moving statistics", () => {
    const g = summary(buildGenerator(G(), square(64)));
    const d = summary(buildDiscriminator(D(), square(64), random()));
    expect([g.totalParams, g.nonTrainableParams]).toEqual([3_576_576, 1_920]);
    expect([d.totalParams, d.nonTrainableParams]).toEqual([2_765_312, 1_792]);
    expect(g.text).toContain('Total params: 3,576,576');
    expect(d.text).toContain('Non-trainable params: 1,792');
    expect(g.rows.map((r) => r.type)).toEqual([
      'InputLayer', 'Reshape',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose',
    ]);
    expect(g.rows.find((r) => r.layer === 'deconv_1')).toEqual({ layer: 'deconv_1', type: 'Conv2DTranspose', outputShape: '(None, 4, 4, 512)', params: 819_200 });
    expect(d.rows.filter((r) => r.type === 'SeededDropout')).toHaveLength(4);
    expect(d.rows.find((r) => r.layer === 'conv_out')).toMatchObject({ outputShape: '(None, 1, 1, 1)', params: 8_192 });
  });
});

describe('layers', () => {
  it('uses no biases, LeakyReLU 0.2, BatchNorm momentum 0.9 / epsilon 1e-3, Keras initialisers', () => {
    const g = buildGenerator(G(), square(32));
    const d = buildDiscriminator(D(), square(32), random());
    for (const layer of [...g.layers, ...d.layers]) {
      const config = layer.getConfig();
      if ('useBias' in config) expect(config['useBias']).toBe(false);
      if (layer.getClassName() === 'LeakyReLU') expect(config['alpha']).toBeCloseTo(0.2, 10);
      if (layer.getClassName() === 'BatchNormalization') {
        expect(config['momentum']).toBe(0.9);
        expect(config['epsilon']).toBe(1e-3);
        const [gamma, beta, mean, variance] = layer.getWeights().map((w) => Array.from(w.dataSync()));
        expect(new Set(gamma)).toEqual(new Set([1]));
        expect(new Set(beta)).toEqual(new Set([0]));
        expect(new Set(mean)).toEqual(new Set([0]));
        expect(new Set(variance)).toEqual(new Set([1]));
      }
    }
    // Glorot uniform: |w| < sqrt(6 / (fan_in + fan_out)), standard deviation limit / sqrt(3).
    const kernel = g.getLayer('deconv_2').getWeights()[0]!; // [4, 4, 128, 256]
    const limit = Math.sqrt(6 / (16 * 128 + 16 * 256));
    const values = kernel.dataSync();
    let max = 0;
    let sumSq = 0;
    for (const v of values) {
      max = Math.max(max, Math.abs(v));
      sumSq += v * v;
    }
    expect(max).toBeLessThanOrEqual(limit);
    expect(max).toBeGreaterThan(0.99 * limit);
    expect(Math.sqrt(sumSq / values.length)).toBeCloseTo(limit / Math.sqrt(3), 3);
    g.dispose();
    d.dispose();
  });

  it('BatchNorm keeps moving = 0.9 moving + 0.1 batch, with the biased batch variance (Keras)', () => {
    const g = buildGenerator(G({ baseFilters: 4 }), square(32));
    const z = tf.randomNormal([5, 100], 0, 1, 'float32', 3) as tf.Tensor2D;
    const bn = g.getLayer('bn_1');
    // What bn_1 sees: the first transposed convolution's output.
    const probe = tf.model({ inputs: g.inputs, outputs: g.getLayer('deconv_1').output as tf.SymbolicTensor });
    const pre = probe.predict(z) as tf.Tensor;
    const { mean, variance } = tf.moments(pre, [0, 1, 2]);
    tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor);
    const [, , movingMean, movingVariance] = bn.getWeights();
    const expectedMean = mean.dataSync().map((m) => 0.1 * m);
    const expectedVariance = variance.dataSync().map((v) => 0.9 + 0.1 * v);
    movingMean!.dataSync().forEach((m, i) => expect(m).toBeCloseTo(expectedMean[i]!, 6));
    movingVariance!.dataSync().forEach((v, i) => expect(v).toBeCloseTo(expectedVariance[i]!, 5));
    tf.dispose([z, pre, mean, variance]);
    g.dispose();
  });

  it('emits tanh images, sigmoid probabilities or raw logits, without leaking tensors', () => {
    const g = buildGenerator(G({ baseFilters: 4 }), square(32, 3));
    const d = buildDiscriminator(D({ baseFilters: 4 }), square(32, 3), random());
    const logit = buildDiscriminator(D({ baseFilters: 4, output: 'logit' }), square(32, 3), random());
    const z = tf.randomNormal([3, 100], 0, 1, 'float32', 1) as tf.Tensor2D;
    tf.tidy(() => g.apply(z, { training: true }) as tf.Tensor); // first calls cache a few constants
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      const images = g.apply(z, { training: true }) as tf.Tensor;
      expect(images.shape).toEqual([3, 32, 32, 3]);
      expect(tf.max(tf.abs(images)).dataSync()[0]).toBeLessThanOrEqual(1);
      const p = d.apply(images, { training: false }) as tf.Tensor;
      expect(p.shape).toEqual([3, 1]);
      for (const v of p.dataSync()) expect(v > 0 && v < 1).toBe(true);
      const scaled = tf.mul(images, 50) as tf.Tensor4D;
      const l = logit.apply(scaled, { training: false }) as tf.Tensor;
      expect(Array.from(l.dataSync()).some((v) => v < 0 || v > 1)).toBe(true);
    });
    expect(tf.memory().numTensors).toBe(before);
    z.dispose();
    [g, d, logit].forEach((m) => m.dispose());
  });

  it('leaves BatchNorm out on request (WGAN-GP critics)', () => {
    const d = buildDiscriminator(D({ batchNorm: false }), square(64), random());
    expect(d.layers.some((l) => l.getClassName() === 'BatchNormalization')).toBe(false);
    expect(d.countParams()).toBe(2_765_312 - 512 - 1_024 - 2_048);
    d.dispose();
  });
});

describe('initial weights', () => {
  const weightsOf = (m: tf.LayersModel) => m.getWeights().map((w) => Array.from(w.dataSync()));
  it('are a function of the seed: same seed same weights, another seed others', () => {
    const a = buildGenerator(G({ baseFilters: 2, initSeed: 11 }), square(32));
    const b = buildGenerator(G({ baseFilters: 2, initSeed: 11 }), square(32));
    const c = buildGenerator(G({ baseFilters: 2, initSeed: 12 }), square(32));
    expect(weightsOf(a)).toEqual(weightsOf(b));
    expect(weightsOf(a)[0]).not.toEqual(weightsOf(c)[0]);
    [a, b, c].forEach((m) => m.dispose());
  });

  it("take the factory context's seed unless initSeed is set", () => {
    const imageShape = square(32);
    const fromContext = dcganDiscriminator.create(dcganDiscriminator.options.parse({ baseFilters: 2 }), { imageShape, random: random(), seed: 99 }) as BuiltNetwork;
    const explicit = buildDiscriminator(D({ baseFilters: 2, initSeed: 99 }), imageShape, random());
    expect(weightsOf(fromContext.model as tf.LayersModel)).toEqual(weightsOf(explicit));
    const generator = dcganGenerator.create(dcganGenerator.options.parse({ baseFilters: 2 }), { imageShape, random: random(), seed: 99 }) as BuiltNetwork;
    const overridden = buildGenerator(G({ baseFilters: 2, initSeed: 99 }), imageShape);
    const fromOption = dcganGenerator.create(dcganGenerator.options.parse({ baseFilters: 2, initSeed: 99 }), { imageShape, random: random(), seed: 5 }) as BuiltNetwork;
    expect(weightsOf(fromOption.model as tf.LayersModel)).toEqual(weightsOf(overridden));
    [overridden, fromOption.model].forEach((m) => m.dispose());
    // Generator and discriminator kernels draw from different streams even with one seed.
    expect(generator.latentDim).toBe(100);
    expect(fromContext.output).toBe('probability');
    [fromContext.model, explicit, generator.model].forEach((m) => m.dispose());
  });
});

describe('plugins', () => {
  it('reject image sizes they cannot build, naming the valid ones', () => {
    expect(dcganGenerator.check!(G(), { imageShape: square(48) })).toEqual(['imageSize 48 is not supported: use 32, 64, 128 (square)']);
    expect(dcganDiscriminator.check!(D(), { imageShape: { height: 64, width: 32, channels: 1 } })[0]).toContain('64x32');
    expect(dcganGenerator.check!(G(), { imageShape: square(128, 3) })).toEqual([]);
    expect(() => dcganGenerator.create(G(), { imageShape: square(48), random: random(), seed: 0 })).toThrow(UserInputError);
    expect(() => dcganGenerator.create(G(), { imageShape: square(48), random: random(), seed: 0 })).toThrow(/imageSize 48 is not supported: use 32, 64, 128/);
  });

  it('validate their options', () => {
    expect(discriminatorOptionsSchema.safeParse({ dropout: 1 }).success).toBe(false);
    expect(discriminatorOptionsSchema.safeParse({ output: 'logits' }).success).toBe(false);
    expect(generatorOptionsSchema.safeParse({ latentDim: 0 }).success).toBe(false);
    expect(generatorOptionsSchema.safeParse({ nonsense: 1 }).success).toBe(false);
    expect(G()).toMatchObject({ latentDim: 100, leakySlope: 0.2, bnMomentum: 0.9, bnEpsilon: 1e-3, baseFilters: 64, spectralNorm: false });
    expect(D()).toMatchObject({ dropout: 0.3, output: 'probability' });
    expect(dcganDiscriminator.outputOf!(D({ output: 'logit' }))).toBe('logit');
  });

  it('are bound by modelsModule', async () => {
    const container = new Container();
    await container.load(modelsModule);
    const names = container.getAll<AnyPlugin>(PluginToken).map((p) => `${p.kind}:${p.name}`);
    expect(names.sort()).toEqual(['discriminator:dcgan-discriminator', 'generator:dcgan-generator']);
  });
});
