/**
 * The `inception-v3` extractor on the real Inception-v3 graph: Keras'
 * InceptionV3 exported and converted to TensorFlow.js by
 * reference/inception_export.py, the way packages/metrics/README.md tells a
 * user to. The ImageNet weights cannot be had here, so the network keeps
 * Keras' seeded random initialisation: the graph, the converter's output, the
 * loading, the preprocessing and the feature size are the real ones; the
 * numbers are not FIDs anyone else reports.
 *
 * - golden: duel's features of the same images equal Keras' (299 px RGB as
 *   they are; 28 px gray through the resize and channel repeat);
 * - FID/KID sanity: real test vs real train near zero, noise vs real large.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImageDataset } from '../packages/core/src/index';
import { compareGuard, evaluate, extractRealFeatures, inceptionExtractor, inceptionOptions, type FeatureExtractor } from '../packages/metrics/src/index';

const ROOT = resolve(__dirname, '..');
createRequire(join(ROOT, 'packages/metrics/package.json'))('@tensorflow/tfjs-node');

const SCRIPT = join(ROOT, 'reference/inception_export.py');
const FASHION = '/usr/share/datasets/fashion-mnist';
const python = [process.env['DUEL_PYTHON'], join(ROOT, '.venv/bin/python')].find((p): p is string => !!p && existsSync(p));
// The export takes a minute; it is cached by the script's hash.
const cache = join(process.env['DUEL_CACHE_DIR'] ?? join(ROOT, '.cache'), 'reference', `inception-v3-random-${createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 12)}`);

function fashion(split: 'train' | 't10k', limit: number): ImageDataset {
  const read = (kind: string) => gunzipSync(readFileSync(join(FASHION, `${split}-${kind}-idx${kind === 'images' ? 3 : 1}-ubyte.gz`)));
  const images = read('images');
  const labels = read('labels');
  return {
    source: `${FASHION}/${split}`,
    shape: { height: 28, width: 28, channels: 1 },
    size: limit,
    pixels: images.subarray(16, 16 + limit * 784),
    labels: Int32Array.from(labels.subarray(8, 8 + limit)),
    skipped: [],
  };
}

/** The reference's arrays: an index in .json, float32 values in .bin. */
function golden(name: string): tf.Tensor {
  const index = JSON.parse(readFileSync(join(cache, 'golden.json'), 'utf8')) as { arrays: Record<string, { shape: number[]; offset: number }> };
  const entry = index.arrays[name]!;
  const bin = readFileSync(join(cache, 'golden.bin'));
  const count = entry.shape.reduce((a, b) => a * b, 1);
  const values = new Float32Array(bin.buffer.slice(bin.byteOffset + entry.offset, bin.byteOffset + entry.offset + count * 4));
  return tf.tensor(values, entry.shape);
}

/** max |duel - keras| / max |keras|: the error relative to the features' scale. */
async function relativeError(extractor: FeatureExtractor, images: string, features: string): Promise<number> {
  const input = golden(images) as tf.Tensor4D;
  const raw = await extractor.features(input);
  const ours = raw instanceof Float64Array ? raw : Float64Array.from(await raw.data());
  if (!(raw instanceof Float64Array)) raw.dispose();
  const theirs = golden(features);
  const reference = Float64Array.from(await theirs.data());
  tf.dispose([input, theirs]);
  expect(ours.length).toBe(reference.length);
  let worst = 0;
  let scale = 0;
  reference.forEach((r, i) => {
    worst = Math.max(worst, Math.abs(ours[i]! - r));
    scale = Math.max(scale, Math.abs(r));
  });
  console.log(`inception-v3 ${images}: max |duel - keras| ${worst.toExponential(2)} (features up to ${scale.toExponential(2)})`);
  return worst / scale;
}

describe.skipIf(!python)('inception-v3 extractor on the real Inception-v3 graph (Keras export, seeded random weights)', () => {
  let extractor: FeatureExtractor;

  beforeAll(async () => {
    await tf.setBackend('tensorflow');
    if (!existsSync(join(cache, 'golden.json'))) {
      mkdirSync(cache, { recursive: true });
      execFileSync(python!, [SCRIPT, '--out', join(cache, 'tfjs'), '--golden', join(cache, 'golden')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 400_000 });
    }
    extractor = await inceptionExtractor.create(inceptionOptions.parse({ path: join(cache, 'tfjs') }), { cacheDir: cache });
  });

  afterAll(() => extractor?.dispose?.());

  it('gives Keras features for the same images: 299 px RGB, and 28 px gray resized and repeated', async () => {
    expect(extractor.featureDim).toBe(2048);
    expect(await relativeError(extractor, 'big', 'big_features')).toBeLessThan(1e-4);
    expect(await relativeError(extractor, 'small', 'small_features')).toBeLessThan(1e-4);
  });

  it('real test vs real train is near zero, noise vs real is large; the extractor is recorded with each number', async () => {
    const n = 160;
    const real = await extractRealFeatures(fashion('train', n), extractor, { n, seed: 1 });
    const test = fashion('t10k', n);
    let at = 0;
    const testSampler = (count: number) => {
      const batch = tf.tidy(() => tf.sub(tf.div(tf.tensor4d(test.pixels.subarray(at * 784, (at + count) * 784), [count, 28, 28, 1], 'float32'), 127.5), 1)) as tf.Tensor4D;
      at += count;
      return batch;
    };
    const noiseSampler = (count: number) => tf.randomUniform([count, 28, 28, 1], -1, 1, 'float32', 99 + count) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const options = { n, metrics: ['fid', 'kid'] as ('fid' | 'kid')[], kidSubsets: 20, kidSubsetSize: 80, batchSize: 32 };
    const realVsReal = await evaluate(testSampler, real, extractor, options);
    const noiseVsReal = await evaluate(noiseSampler, real, extractor, options);
    expect(tf.memory().numTensors).toBe(before);
    console.log(`inception-v3 (random weights), n=${n}: FID real-vs-real ${realVsReal.fid!.toExponential(3)}, noise-vs-real ${noiseVsReal.fid!.toExponential(3)}; KID ${realVsReal.kid!.mean.toExponential(3)} vs ${noiseVsReal.kid!.mean.toExponential(3)}`);
    expect(realVsReal.fid!).toBeLessThan(0.1 * noiseVsReal.fid!);
    expect(noiseVsReal.kid!.mean).toBeGreaterThan(20 * Math.abs(realVsReal.kid!.mean));
    expect(realVsReal.extractor).toEqual({ id: 'inception-v3', hash: extractor.hash, featureDim: 2048 });
    compareGuard(realVsReal, noiseVsReal);
  }, 300_000);
});
