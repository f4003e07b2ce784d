import * as tf from '@tensorflow/tfjs';
import { deriveSeed, permutation, Streams, type ImageDataset } from '@duel/core';
import { sampleDiversity } from './diagnostics';
import { datasetBatch, extractorIdentity, toFeatureMatrix, type ExtractorIdentity, type FeatureExtractor } from './extractor';
import { fid } from './fid';
import { kid, type KidResult } from './kid';
import type { FeatureMatrix } from './linalg';
import { precisionRecall } from './precision-recall';

/** The metrics {@link evaluate} can compute. */
export type MetricName = 'fid' | 'kid' | 'pr';
export const METRIC_NAMES: readonly MetricName[] = ['fid', 'kid', 'pr'];

/** Features already extracted from real images (reused across evaluations). */
export interface ExtractedFeatures {
  readonly kind: 'features';
  readonly extractor: ExtractorIdentity;
  readonly features: FeatureMatrix;
}

/** Real images as a dataset (uint8), a [-1, 1] tensor, or features from an earlier pass. */
export type RealImages = ImageDataset | tf.Tensor4D | ExtractedFeatures;

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /** Which metrics. @default ['fid', 'kid', 'pr'] */
  metrics?: readonly MetricName[];
  /** Generated images, and at most this many real ones (a seeded subset). @default 1000 */
  n?: number;
  /** Seed of the real subset and of KID's subsets. @default 0 */
  seed?: number;
  /** Images per generator call and extractor pass. @default 100 */
  batchSize?: number;
  /** KID subset count. @default 100 */
  kidSubsets?: number;
  /** KID subset size (capped at the set sizes). @default 1000 */
  kidSubsetSize?: number;
  /** k of the precision/recall neighbourhoods. @default 3 */
  k?: number;
}

/** What one evaluation found; records the extractor so results are compared only like with like. */
export interface EvaluationResult {
  readonly extractor: ExtractorIdentity;
  readonly realCount: number;
  readonly fakeCount: number;
  readonly seed: number;
  readonly fid?: number;
  readonly kid?: Omit<KidResult, 'values'>;
  readonly precision?: number;
  readonly recall?: number;
  readonly k?: number;
  /** Mean pairwise feature distance of the generated samples. */
  readonly diversity: number;
  /** The same of the real samples (the yardstick for mode collapse). */
  readonly realDiversity: number;
  readonly seconds: number;
}

function isExtracted(x: RealImages): x is ExtractedFeatures {
  return (x as ExtractedFeatures).kind === 'features';
}

function isDataset(x: RealImages): x is ImageDataset {
  return (x as ImageDataset).pixels instanceof Uint8Array;
}

/** Runs the extractor over batches and stacks the host features. */
async function extractBatches(count: number, batchSize: number, batch: (start: number, size: number) => tf.Tensor4D, extractor: FeatureExtractor): Promise<FeatureMatrix> {
  const d = extractor.featureDim;
  const data = new Float64Array(count * d);
  for (let start = 0; start < count; start += batchSize) {
    const size = Math.min(batchSize, count - start);
    const images = batch(start, size);
    let part: FeatureMatrix;
    try {
      if (images.shape[0] !== size) throw new Error(`evaluate: asked for ${size} images, got ${images.shape[0]}`);
      part = await toFeatureMatrix(await extractor.features(images), size, d);
    } finally {
      images.dispose();
    }
    data.set(part.data, start * d);
  }
  return { n: count, d, data };
}

/**
 * Features of real images: at most `n` of them (a seeded subset of a larger
 * dataset or tensor), in batches. Keep the result to evaluate many times.
 */
export async function extractRealFeatures(realImages: ImageDataset | tf.Tensor4D, extractor: FeatureExtractor, options: { n?: number; seed?: number; batchSize?: number } = {}): Promise<ExtractedFeatures> {
  const n = options.n ?? 1000;
  const seed = options.seed ?? 0;
  const batchSize = options.batchSize ?? 100;
  const total = isDataset(realImages) ? realImages.size : realImages.shape[0];
  const count = Math.min(n, total);
  const rows = count === total ? Int32Array.from({ length: total }, (_, i) => i) : permutation(total, deriveSeed(seed, Streams.evaluation, 0)).slice(0, count);
  const features = await extractBatches(count, batchSize, (start, size) => {
    const idx = rows.subarray(start, start + size);
    if (isDataset(realImages)) return datasetBatch(realImages, idx);
    return tf.tidy(() => tf.gather(realImages, tf.tensor1d(idx, 'int32')));
  }, extractor);
  return { kind: 'features', extractor: extractorIdentity(extractor), features };
}

/** Features of `n` generated images, drawn `batchSize` at a time (each batch disposed). */
export async function extractGeneratedFeatures(generatorSample: (n: number) => tf.Tensor4D, extractor: FeatureExtractor, options: { n?: number; batchSize?: number } = {}): Promise<FeatureMatrix> {
  return extractBatches(options.n ?? 1000, options.batchSize ?? 100, (_start, size) => generatorSample(size), extractor);
}

/** Metrics of generated against real features (both from one extractor). */
export function computeMetrics(real: FeatureMatrix, fake: FeatureMatrix, extractor: ExtractorIdentity, options: EvaluateOptions = {}): Omit<EvaluationResult, 'seconds'> {
  const metrics = new Set(options.metrics ?? METRIC_NAMES);
  const seed = options.seed ?? 0;
  const result: { -readonly [K in keyof EvaluationResult]?: EvaluationResult[K] } = {
    extractor,
    realCount: real.n,
    fakeCount: fake.n,
    seed,
    diversity: sampleDiversity(fake),
    realDiversity: sampleDiversity(real),
  };
  if (metrics.has('fid')) result.fid = fid(real, fake);
  if (metrics.has('kid')) {
    const { values: _values, ...summary } = kid(real, fake, { subsets: options.kidSubsets ?? 100, subsetSize: options.kidSubsetSize ?? 1000, seed: deriveSeed(seed, Streams.evaluation, 1) });
    result.kid = summary;
  }
  if (metrics.has('pr')) {
    const pr = precisionRecall(real, fake, { k: options.k ?? 3 });
    result.precision = pr.precision;
    result.recall = pr.recall;
    result.k = pr.k;
  }
  return result as Omit<EvaluationResult, 'seconds'>;
}

/**
 * Evaluates a generator against real images through one feature extractor:
 * FID, KID and improved precision/recall, plus sample diversity. The one
 * function behind both the `evaluation` callback and `duel evaluate`.
 * Every tensor it makes is disposed; `generatorSample`'s batches too.
 *
 * @param generatorSample - returns `n` generated images in [-1, 1], NHWC.
 */
export async function evaluate(generatorSample: (n: number) => tf.Tensor4D, realImages: RealImages, extractor: FeatureExtractor, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const started = performance.now();
  const n = options.n ?? 1000;
  const batchSize = options.batchSize ?? 100;
  let real: ExtractedFeatures;
  if (isExtracted(realImages)) {
    if (realImages.extractor.id !== extractor.id || realImages.extractor.hash !== extractor.hash) {
      throw new Error(`evaluate: real features came from ${realImages.extractor.id} (${realImages.extractor.hash.slice(0, 12)}), not from the given ${extractor.id} (${extractor.hash.slice(0, 12)})`);
    }
    real = realImages;
  } else {
    real = await extractRealFeatures(realImages, extractor, { n, seed: options.seed ?? 0, batchSize });
  }
  const fake = await extractGeneratedFeatures(generatorSample, extractor, { n, batchSize });
  const result = computeMetrics(real.features, fake, extractorIdentity(extractor), options);
  return { ...result, seconds: (performance.now() - started) / 1000 };
}

/**
 * A result as flat figures for a tracker or the epoch metrics: fid, kid,
 * kid_std, precision, recall, diversity, real_diversity.
 */
export function evaluationMetrics(result: EvaluationResult): Record<string, number> {
  const out: Record<string, number> = { diversity: result.diversity, real_diversity: result.realDiversity };
  if (result.fid !== undefined) out.fid = result.fid;
  if (result.kid !== undefined) {
    out.kid = result.kid.mean;
    out.kid_std = result.kid.std;
  }
  if (result.precision !== undefined) out.precision = result.precision;
  if (result.recall !== undefined) out.recall = result.recall;
  return out;
}
