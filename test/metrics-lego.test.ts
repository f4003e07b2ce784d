/**
 * The domain classifier on the book's own data: trained on LEGO renders (one
 * class per brick folder), it separates real renders from noise, as it does
 * on Fashion-MNIST.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageBatch, permutation, type ImageDataset } from '../packages/core/src/index';
import { imageFolder } from '../packages/data/src/index';
import { domainClassifierExtractor, domainClassifierOptions, evaluate, type FeatureExtractor } from '../packages/metrics/src/index';

const ROOT = resolve(__dirname, '..');
createRequire(join(ROOT, 'packages/metrics/package.json'))('@tensorflow/tfjs-node');
const LEGO = join(ROOT, '..', 'shared', 'datasets', 'lego-bricks-128');

/**
 * Two disjoint random halves of a dataset (not alternate files: the renders
 * come in L/R pairs, so even and odd positions would be the two sides).
 */
function halves(dataset: ImageDataset): [ImageDataset, ImageDataset] {
  const per = dataset.shape.height * dataset.shape.width * dataset.shape.channels;
  const order = permutation(dataset.size, 7);
  const cut = Math.floor(dataset.size / 2);
  return [order.subarray(0, cut), order.subarray(cut)].map((picked, k) => {
    const pixels = new Uint8Array(picked.length * per);
    picked.forEach((from, to) => pixels.set(dataset.pixels.subarray(from * per, (from + 1) * per), to * per));
    return { ...dataset, source: `${dataset.source}#half${k}`, size: picked.length, pixels, labels: Int32Array.from(picked, (i) => dataset.labels![i]!) };
  }) as [ImageDataset, ImageDataset];
}

/** Draws a dataset's images in order, as a stand-in generator. */
function sampler(dataset: ImageDataset): (n: number) => tf.Tensor4D {
  let at = 0;
  return (n) => imageBatch(dataset, Array.from({ length: n }, () => at++ % dataset.size));
}

describe.skipIf(!existsSync(LEGO))(`domain-classifier on the LEGO renders (${LEGO})`, () => {
  const work = mkdtempSync(join(tmpdir(), 'duel-metrics-lego-'));
  let reference: ImageDataset;
  let heldOut: ImageDataset;
  let classifier: FeatureExtractor;

  beforeAll(async () => {
    await tf.setBackend('tensorflow');
    const source = await imageFolder.create(imageFolder.options.parse({ path: LEGO, imageSize: 64, channels: 1, limit: 10400 }), { baseDir: '/', cacheDir: work, log() {} });
    const renders = await source.load();
    [reference, heldOut] = halves(renders);
    classifier = await domainClassifierExtractor.create(domainClassifierOptions.parse({}), { dataset: reference, cacheDir: work });
  }, 420_000);

  afterAll(() => {
    classifier?.dispose?.();
    rmSync(work, { recursive: true, force: true });
  });

  it('learns the 13 bricks apart, and scores held-out renders near the reference and noise far from it', async () => {
    const accuracy = classifier.metadata.testAccuracy as number;
    const settings = { n: 1000, seed: 1, kidSubsets: 20, kidSubsetSize: 500 };
    const realVsReal = await evaluate(sampler(heldOut), reference, classifier, settings);
    const noise = (n: number) => tf.randomUniform([n, 64, 64, 1], -1, 1, 'float32', 99 + n) as tf.Tensor4D;
    const noiseVsReal = await evaluate(noise, reference, classifier, settings);
    console.log(
      `LEGO domain-classifier: ${classifier.metadata.trainImages} train images, held-out accuracy ${(accuracy * 100).toFixed(1)}% (chance 7.7%); ` +
        `FID held-out vs reference ${realVsReal.fid!.toFixed(4)}, noise vs reference ${noiseVsReal.fid!.toFixed(2)}; ` +
        `precision/recall ${realVsReal.precision}/${realVsReal.recall} vs ${noiseVsReal.precision}/${noiseVsReal.recall}`,
    );
    expect(classifier.metadata.classes).toBe(13);
    // 57% here; 18% before BatchNorm statistics were recomputed after training.
    expect(accuracy).toBeGreaterThan(0.45);
    expect(realVsReal.fid!).toBeLessThan(0.02 * noiseVsReal.fid!);
    expect(noiseVsReal.kid!.mean).toBeGreaterThan(50 * Math.abs(realVsReal.kid!.mean));
    expect(realVsReal.recall!).toBeGreaterThan(0.6);
    expect(noiseVsReal.recall!).toBeLessThan(0.02);
  });
});
