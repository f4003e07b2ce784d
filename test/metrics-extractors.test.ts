/**
 * @duel/metrics on the real TF runtime and real images: the domain classifier
 * trained on Fashion-MNIST, FID sanity (real vs real near zero, noise vs real
 * large), the Inception loading path with a stand-in model, the evaluation
 * callback, and tensor leaks.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UserInputError, type EpochMetrics, type ImageDataset, type TrainingView } from '../packages/core/src/index';
import {
  compareGuard,
  domainClassifierExtractor,
  domainClassifierOptions,
  evaluate,
  evaluationCallback,
  evaluationCallbackOptions,
  extractRealFeatures,
  inceptionExtractor,
  inceptionOptions,
  saveModelToDir,
  type FeatureExtractor,
} from '../packages/metrics/src/index';

const ROOT = resolve(__dirname, '..');
// tfjs-node registers the `tensorflow` backend into this same tfjs instance.
createRequire(join(ROOT, 'packages/metrics/package.json'))('@tensorflow/tfjs-node');

const FASHION = '/usr/share/datasets/fashion-mnist';
const CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** A minimal IDX reader (test-only): magic, dims, then uint8 data. */
function readIdx(file: string, limit: number): { dims: number[]; data: Uint8Array } {
  const bytes = gunzipSync(readFileSync(file));
  const rank = bytes[3]!;
  const dims = Array.from({ length: rank }, (_, i) => bytes.readUInt32BE(4 + 4 * i));
  const per = dims.slice(1).reduce((a, b) => a * b, 1);
  dims[0] = Math.min(dims[0]!, limit);
  return { dims, data: bytes.subarray(4 + 4 * rank, 4 + 4 * rank + dims[0] * per) };
}

function fashion(split: 'train' | 't10k', limit: number): ImageDataset {
  const images = readIdx(join(FASHION, `${split}-images-idx3-ubyte.gz`), limit);
  const labels = readIdx(join(FASHION, `${split}-labels-idx1-ubyte.gz`), limit);
  return {
    source: `${FASHION}/${split}`,
    shape: { height: 28, width: 28, channels: 1 },
    size: images.dims[0]!,
    pixels: images.data,
    labels: Int32Array.from(labels.data),
    classNames: CLASSES,
    skipped: [],
  };
}

/** A batch sampler over a dataset's images, in order (a stand-in "generator" of real images). */
function datasetSampler(dataset: ImageDataset): (n: number) => tf.Tensor4D {
  let at = 0;
  const per = 28 * 28;
  return (n) => {
    const out = new Float32Array(n * per);
    for (let i = 0; i < n * per; i++) out[i] = (dataset.pixels[(at * per + i) % dataset.pixels.length]! - 127.5) / 127.5;
    at += n;
    return tf.tensor4d(out, [n, 28, 28, 1]);
  };
}

const noiseSampler = (n: number): tf.Tensor4D => tf.randomUniform([n, 28, 28, 1], -1, 1, 'float32', 1234 + n) as tf.Tensor4D;

const work = mkdtempSync(join(tmpdir(), 'duel-metrics-ext-'));
let train: ImageDataset;
let test: ImageDataset;
let classifier: FeatureExtractor;
let trainSeconds = 0;

beforeAll(async () => {
  await tf.setBackend('tensorflow');
  expect(existsSync(FASHION), `${FASHION} (Debian package dataset-fashion-mnist) is missing`).toBe(true);
  train = fashion('train', 5000);
  test = fashion('t10k', 1000);
  const started = performance.now();
  classifier = await domainClassifierExtractor.create(domainClassifierOptions.parse({ epochs: 5, maxImages: 5000 }), { dataset: train, cacheDir: work });
  trainSeconds = (performance.now() - started) / 1000;
});

afterAll(() => {
  classifier?.dispose?.();
  rmSync(work, { recursive: true, force: true });
});

describe('domain-classifier extractor', () => {
  it('trains to a useful held-out accuracy and records it', () => {
    const m = classifier.metadata;
    console.log(`domain-classifier: ${m.trainImages} train / ${m.testImages} held-out images, accuracy ${((m.testAccuracy as number) * 100).toFixed(2)}%, ${trainSeconds.toFixed(1)} s`);
    expect(m.testAccuracy).toBeGreaterThan(0.75);
    expect(m.trainImages).toBe(4500);
    expect(m.cached).toBe(false);
    expect(classifier.featureDim).toBe(128);
    expect(classifier.hash).toMatch(/^[0-9a-f]{64}$/);
  });

  it('is cached: a second build loads the same weights without training', async () => {
    const started = performance.now();
    const again = await domainClassifierExtractor.create(domainClassifierOptions.parse({ epochs: 5, maxImages: 5000 }), { dataset: train, cacheDir: work });
    try {
      expect(again.metadata.cached).toBe(true);
      expect(again.hash).toBe(classifier.hash);
      expect(performance.now() - started).toBeLessThan(5000);
      const images = test.pixels.subarray(0, 4 * 784);
      const x = tf.tensor4d(Float32Array.from(images, (p) => (p - 127.5) / 127.5), [4, 28, 28, 1]);
      const [a, b] = [await classifier.features(x), await again.features(x)];
      x.dispose();
      expect([...(a as Float64Array)]).toEqual([...(b as Float64Array)]);
    } finally {
      again.dispose?.();
    }
  });

  it('refuses an unlabelled dataset', async () => {
    const { labels: _l, classNames: _c, ...unlabelled } = train;
    await expect(domainClassifierExtractor.create(domainClassifierOptions.parse({}), { dataset: unlabelled, cacheDir: work })).rejects.toThrow(/has no class labels/);
  });
});

describe('FID sanity on Fashion-MNIST', () => {
  it('real test vs real train is near zero; noise vs real is large; no tensor leaks', async () => {
    const real = await extractRealFeatures(train, classifier, { n: 1000, seed: 1 });
    const before = tf.memory().numTensors;
    const realVsReal = await evaluate(datasetSampler(test), real, classifier, { n: 1000, kidSubsets: 20, kidSubsetSize: 500 });
    const noiseVsReal = await evaluate(noiseSampler, real, classifier, { n: 1000, kidSubsets: 20, kidSubsetSize: 500 });
    expect(tf.memory().numTensors).toBe(before);
    console.log(
      `FID real-vs-real ${realVsReal.fid!.toFixed(4)} (KID ${realVsReal.kid!.mean.toExponential(3)}, P ${realVsReal.precision} R ${realVsReal.recall}); ` +
        `noise-vs-real ${noiseVsReal.fid!.toFixed(4)} (KID ${noiseVsReal.kid!.mean.toExponential(3)}, P ${noiseVsReal.precision} R ${noiseVsReal.recall}); ` +
        `${realVsReal.seconds.toFixed(1)} s per evaluation`,
    );
    expect(realVsReal.fid!).toBeLessThan(0.02 * noiseVsReal.fid!);
    expect(noiseVsReal.kid!.mean).toBeGreaterThan(50 * Math.abs(realVsReal.kid!.mean));
    expect(realVsReal.precision!).toBeGreaterThan(0.6);
    expect(realVsReal.recall!).toBeGreaterThan(0.6);
    expect(noiseVsReal.recall!).toBeLessThan(0.02);
    expect(noiseVsReal.precision!).toBeLessThan(0.5);
    expect(noiseVsReal.diversity).toBeLessThan(realVsReal.diversity);
    expect(realVsReal.extractor).toEqual({ id: 'domain-classifier', hash: classifier.hash, featureDim: 128 });
    compareGuard(realVsReal, noiseVsReal);
    // Raw dataset input gives the same real features as the pre-extracted ones.
    const direct = await evaluate(datasetSampler(test), train, classifier, { n: 1000, seed: 1, metrics: ['fid'] });
    expect(direct.fid).toBeCloseTo(realVsReal.fid!, 10);
    expect(direct.kid).toBeUndefined();
  });
});

describe('inception-v3 extractor (loading path, with a stand-in model)', () => {
  let standIn: tf.LayersModel;
  let dir: string;

  beforeAll(async () => {
    // Not Inception: a tiny model in the same converter format, with a spatial
    // output, to exercise loading, resizing to its 299 input, RGB and pooling.
    const input = tf.input({ shape: [299, 299, 3] });
    const conv = tf.layers.conv2d({ filters: 6, kernelSize: 5, strides: 8, kernelInitializer: tf.initializers.glorotUniform({ seed: 3 }), biasInitializer: 'ones' }).apply(input);
    standIn = tf.model({ inputs: input, outputs: conv as tf.SymbolicTensor });
    dir = join(work, 'inception-stand-in');
    await saveModelToDir(standIn, dir);
  });
  afterAll(() => standIn.dispose());

  it('loads from a local path and gives the pooled features of the resized images', async () => {
    const extractor = await inceptionExtractor.create(inceptionOptions.parse({ path: 'inception-stand-in', batchSize: 3 }), { cacheDir: work, baseDir: work });
    try {
      expect(extractor.id).toBe('inception-v3');
      expect(extractor.featureDim).toBe(6);
      expect(extractor.metadata.inputSize).toBe(299);
      const gray = datasetSampler(test)(5);
      const before = tf.memory().numTensors;
      const got = (await extractor.features(gray)) as Float64Array;
      expect(tf.memory().numTensors).toBe(before);
      const want = tf.tidy(() => tf.mean(standIn.predict(tf.tile(tf.image.resizeBilinear(gray, [299, 299], false, true), [1, 1, 1, 3])) as tf.Tensor4D, [1, 2]));
      const wantData = await want.data();
      tf.dispose([want, gray]);
      expect(got.length).toBe(30);
      got.forEach((v, i) => expect(Math.abs(v - wantData[i]!)).toBeLessThan(1e-5));
      // Different extractors' results must not be compared.
      const a = { extractor: { id: extractor.id, hash: extractor.hash, featureDim: 6 } };
      const b = { extractor: { id: classifier.id, hash: classifier.hash, featureDim: 128 } };
      expect(() => compareGuard(a, b)).toThrow(UserInputError);
      expect(() => compareGuard(a, b)).toThrow(/different feature extractors: inception-v3/);
    } finally {
      extractor.dispose?.();
    }
  });

  it('loads a graph model too (a hand-written GraphDef: scale RGB, mean over space)', async () => {
    const graphDir = join(work, 'graph-stand-in');
    mkdirSync(graphDir, { recursive: true });
    const dims = (sizes: number[]) => ({ dim: sizes.map((size) => ({ size: String(size) })) });
    const modelJson = {
      format: 'graph-model',
      generatedBy: 'hand',
      convertedBy: 'hand',
      modelTopology: {
        node: [
          { name: 'images', op: 'Placeholder', attr: { dtype: { type: 'DT_FLOAT' }, shape: { shape: dims([-1, 299, 299, 3]) } } },
          { name: 'scale', op: 'Const', attr: { dtype: { type: 'DT_FLOAT' }, value: { tensor: { dtype: 'DT_FLOAT', tensorShape: dims([3]) } } } },
          { name: 'scaled', op: 'Mul', input: ['images', 'scale'], attr: { T: { type: 'DT_FLOAT' } } },
          { name: 'axes', op: 'Const', attr: { dtype: { type: 'DT_INT32' }, value: { tensor: { dtype: 'DT_INT32', tensorShape: dims([2]) } } } },
          { name: 'pool', op: 'Mean', input: ['scaled', 'axes'], attr: { keep_dims: { b: false }, T: { type: 'DT_FLOAT' }, Tidx: { type: 'DT_INT32' } } },
        ],
        library: {},
        versions: {},
      },
      weightsManifest: [
        {
          paths: ['group1-shard1of1.bin'],
          weights: [
            { name: 'scale', shape: [3], dtype: 'float32' },
            { name: 'axes', shape: [2], dtype: 'int32' },
          ],
        },
      ],
    };
    writeFileSync(join(graphDir, 'model.json'), JSON.stringify(modelJson));
    const weights = Buffer.alloc(20);
    [1, 2, -3].forEach((v, i) => weights.writeFloatLE(v, i * 4));
    [1, 2].forEach((v, i) => weights.writeInt32LE(v, 12 + i * 4));
    writeFileSync(join(graphDir, 'group1-shard1of1.bin'), weights);
    const extractor = await inceptionExtractor.create(inceptionOptions.parse({ path: join(graphDir, 'model.json') }), { cacheDir: work });
    try {
      expect(extractor.metadata.format).toBe('graph-model');
      expect(extractor.featureDim).toBe(3);
      const gray = datasetSampler(test)(2);
      const got = (await extractor.features(gray)) as Float64Array;
      const means = await tf.tidy(() => tf.mean(tf.image.resizeBilinear(gray, [299, 299], false, true), [1, 2, 3])).data();
      gray.dispose();
      [0, 1].forEach((i) => [1, 2, -3].forEach((s, c) => expect(got[i * 3 + c]).toBeCloseTo(s * means[i]!, 4)));
    } finally {
      extractor.dispose?.();
    }
  });

  it('names the missing path and points to the README', async () => {
    const missing = join(work, 'no-such-inception');
    const attempt = inceptionExtractor.create(inceptionOptions.parse({ path: missing }), { cacheDir: work });
    await expect(attempt).rejects.toThrow(UserInputError);
    await expect(inceptionExtractor.create(inceptionOptions.parse({ path: missing }), { cacheDir: work })).rejects.toThrow(
      new RegExp(`no model at ${missing}.*README`),
    );
  });
});

describe('evaluation callback', () => {
  it('adds FID, KID, precision/recall and diversity on its schedule, without leaks', async () => {
    const created: string[] = [];
    const options = evaluationCallbackOptions.parse({ every: 2, samples: 200, kidSubsets: 5, kidSubsetSize: 100 });
    const callback = await evaluationCallback.create(options, {
      async createExtractor(part, extras) {
        created.push(`${part.type}:${extras.dataset.source}`);
        return classifier;
      },
    });
    const latent = tf.input({ shape: [8] });
    const dense = tf.layers.dense({ units: 784, activation: 'tanh', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }).apply(latent);
    const generator = tf.model({ inputs: latent, outputs: tf.layers.reshape({ targetShape: [28, 28, 1] }).apply(dense) as tf.SymbolicTensor });
    const lines: string[] = [];
    const snapshots: string[] = [];
    const snapshotDir = mkdtempSync(join(tmpdir(), 'duel-best-'));
    const saveSnapshot = async (label: string) => {
      snapshots.push(label);
      return snapshotDir;
    };
    const view = { dataset: train, generator, latentDim: 8, totalEpochs: 5, log: (l: string) => lines.push(l), saveSnapshot } as unknown as TrainingView;
    const metrics = (epoch: number): EpochMetrics => ({ epoch, step: epoch, d_loss: 1, g_loss: 1, d_real_acc: 0.5, d_fake_acc: 0.5, d_acc: 0.5, g_acc: 0.5, d_real_mean: 0.5, d_fake_mean: 0.5, grad_norm_d: 1, grad_norm_g: 1, images_per_s: 1, seconds: 1 });
    const before = tf.memory().numTensors;
    const first = metrics(1);
    await callback.onEpochEnd!(view, first);
    expect(first.fid).toBeUndefined();
    const second = metrics(2);
    await callback.onEpochEnd!(view, second);
    const last = metrics(5);
    await callback.onEpochEnd!(view, last);
    expect(tf.memory().numTensors).toBe(before);
    for (const key of ['fid', 'kid', 'kid_std', 'precision', 'recall', 'diversity', 'real_diversity']) expect(Number.isFinite(second[key]), key).toBe(true);
    expect(second.fid!).toBeGreaterThan(1);
    // Fixed evaluation latents: an unchanged generator scores the same.
    expect(last.fid).toBe(second.fid);
    expect(created).toEqual([`domain-classifier:${train.source}`]);
    expect(lines[0]).toMatch(/^evaluation \(epoch 2, domain-classifier [0-9a-f]{8}/);
    // The best FID is kept as a snapshot once; an equal FID later is no improvement.
    expect(snapshots).toEqual(['best']);
    expect(JSON.parse(readFileSync(join(snapshotDir, 'best.json'), 'utf8'))).toMatchObject({ epoch: 2, metric: 'fid', value: second.fid });
    // A resumed run remembers the best figure: the same generator again is no improvement.
    const saved = callback.state!.saveState();
    expect(saved.data).toEqual({ best: second.fid });
    const resumed = await evaluationCallback.create(options, { createExtractor: async () => classifier });
    resumed.state!.restoreState(saved, 'resume');
    await resumed.onEpochEnd!(view, metrics(4));
    expect(snapshots).toEqual(['best']);
    // ... while one that remembers a worse figure keeps this one.
    const behind = await evaluationCallback.create(options, { createExtractor: async () => classifier });
    behind.state!.restoreState({ data: { best: second.fid! + 1 } }, 'resume');
    await behind.onEpochEnd!(view, metrics(4));
    expect(snapshots).toEqual(['best', 'best']);
    generator.dispose();
  });
});
