import * as tf from '@tensorflow/tfjs';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, deriveSeed, dueAfterEpoch, Streams, type Callback, type EpochMetrics, type ImageDataset, type SavedState, type TrainingView } from '@duel/core';
import type { FeatureExtractor } from './extractor';
import { evaluate, evaluationMetrics, extractRealFeatures, METRIC_NAMES, type ExtractedFeatures, type MetricName } from './evaluate';

/** An experiment part naming an extractor plugin: `{ type, options }`. */
export interface ExtractorPart {
  readonly type: string;
  readonly options?: Record<string, unknown>;
}

/**
 * What the `evaluation` callback's factory receives: a way to build an
 * extractor from a part. The assembly implements it by looking the part up
 * among the `extractor` plugins, parsing its options and calling its factory
 * with an `ExtractorContext` (the dataset given here, the run's cache dir).
 */
export interface EvaluationCallbackContext {
  createExtractor(part: ExtractorPart, extras: { dataset: ImageDataset }): Promise<FeatureExtractor>;
}

/** Options of the `evaluation` callback. */
export const evaluationCallbackOptions = z
  .object({
    /** Evaluate after every this many epochs (and after the last). @default 10 */
    every: z.number().int().min(1).default(10),
    /** Generated images per evaluation, and at most this many real ones. @default 1000 */
    samples: z.number().int().min(10).default(1000),
    /** @default ['fid', 'kid', 'pr'] */
    metrics: z.array(z.enum(METRIC_NAMES as [MetricName, ...MetricName[]])).min(1).default([...METRIC_NAMES]),
    /** The feature extractor. @default { type: 'domain-classifier', options: {} } */
    extractor: z
      .object({ type: z.string().min(1), options: z.record(z.string(), z.unknown()).default({}) })
      .strict()
      .default({ type: 'domain-classifier', options: {} }),
    /** Images per generator call. @default 100 */
    batchSize: z.number().int().min(1).default(100),
    /** Seed of the evaluation latents and subsets (the same every evaluation). @default 0 */
    seed: z.number().int().default(0),
    /** KID subsets. @default 100 */
    kidSubsets: z.number().int().min(1).default(100),
    /** KID subset size (capped at `samples`). @default 1000 */
    kidSubsetSize: z.number().int().min(2).default(1000),
    /**
     * Keep the best state by this figure as the snapshot `checkpoints/best/`,
     * beside the latest (GANs often get worse late); null keeps none.
     * @default { metric: 'fid', mode: 'min' }
     */
    keepBest: z
      .object({ metric: z.string().min(1), mode: z.enum(['min', 'max']).default('min') })
      .strict()
      .nullable()
      .default({ metric: 'fid', mode: 'min' }),
  })
  .strict();

export type EvaluationCallbackOptions = z.output<typeof evaluationCallbackOptions>;

/**
 * A sampler over a generator in inference mode. Latents come from a fixed
 * seed sequence (batch i gets `deriveSeed(seed, Streams.evaluation, 2, i)`),
 * so every evaluation sees the same z and scores differ by the generator only.
 */
export function generatorSampler(generator: tf.LayersModel, latentDim: number, seed: number): (n: number) => tf.Tensor4D {
  let call = 0;
  return (n: number) =>
    tf.tidy(() => {
      const z = tf.randomNormal([n, latentDim], 0, 1, 'float32', deriveSeed(seed, Streams.evaluation, 2, call++));
      return generator.predict(z) as tf.Tensor4D;
    });
}

/**
 * The `evaluation` callback: FID/KID/precision-recall of the generator on a
 * schedule, added to the epoch's metrics (fid, kid, kid_std, precision,
 * recall, diversity, real_diversity) so trackers and `detectProblems` see
 * them. The extractor is built once at train start; real features at the first evaluation.
 */
export const evaluationCallback = definePlugin({
  kind: 'callback',
  name: 'evaluation',
  description: 'FID, KID and precision/recall of generated samples every few epochs',
  options: evaluationCallbackOptions,
  nested: (options) => [{ kind: 'extractor', part: options.extractor, path: 'extractor' }],
  create(options, context: EvaluationCallbackContext): Callback {
    let extractor: FeatureExtractor | undefined;
    let real: ExtractedFeatures | undefined;
    let best: number | undefined;
    const settings = {
      metrics: options.metrics,
      n: options.samples,
      seed: options.seed,
      batchSize: options.batchSize,
      kidSubsets: options.kidSubsets,
      kidSubsetSize: options.kidSubsetSize,
    };
    const run = async (view: TrainingView, metrics: EpochMetrics): Promise<void> => {
      extractor ??= await context.createExtractor(options.extractor, { dataset: view.dataset });
      real ??= await extractRealFeatures(view.dataset, extractor, settings);
      const result = await evaluate(generatorSampler(view.generator, view.latentDim, options.seed), real, extractor, settings);
      const figures = evaluationMetrics(result);
      Object.assign(metrics, figures);
      const shown = Object.entries(figures)
        .map(([k, v]) => `${k} ${v.toPrecision(4)}`)
        .join(', ');
      view.log(`evaluation (epoch ${metrics.epoch}, ${extractor.id} ${extractor.hash.slice(0, 8)}, ${result.seconds.toFixed(1)} s): ${shown}`);
      const keep = options.keepBest;
      const value = keep ? metrics[keep.metric] : undefined;
      if (keep && value !== undefined && Number.isFinite(value) && (best === undefined || (keep.mode === 'min' ? value < best : value > best))) {
        best = value;
        const dir = await view.saveSnapshot('best');
        writeFileSync(join(dir, 'best.json'), JSON.stringify({ epoch: metrics.epoch, metric: keep.metric, value, extractor: result.extractor }, null, 1));
        view.log(`evaluation: best ${keep.metric} so far (${value.toPrecision(4)}), kept as ${dir}`);
      }
    };
    return {
      name: 'evaluation',
      // The best figure so far outlives a resume: without it the first evaluation
      // after one would replace checkpoints/best with whatever it scored. A
      // rollback keeps it too: the snapshot it names is still on disk.
      state: {
        saveState: (): SavedState => ({ data: { best: best ?? null } }),
        restoreState(state: SavedState, reason) {
          if (reason === 'rollback') return;
          best = (state.data as { best: number | null }).best ?? undefined;
        },
      },
      // Built before the first step: a missing model file or an untrainable
      // classifier is found before any training, not at the first evaluation.
      async onTrainStart(view) {
        extractor ??= await context.createExtractor(options.extractor, { dataset: view.dataset });
      },
      async onEpochEnd(view, metrics) {
        if (dueAfterEpoch(metrics.epoch, options.every, view.totalEpochs)) await run(view, metrics);
      },
      onTrainEnd() {
        extractor?.dispose?.();
        extractor = undefined;
        real = undefined;
      },
    };
  },
});
