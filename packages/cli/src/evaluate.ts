import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { loadNetwork, UserInputError, writeFileAtomic, type DataSource } from '@duel/core';
import { evaluate, generatorSampler, METRIC_NAMES, type FeatureExtractor, type MetricName } from '@duel/metrics';
import { loadExperiment } from './assemble';
import { activateBackend, cacheRoot, createExtractor } from './run';
import { generatorDirOf } from './run-dir';

export interface EvaluateRunOptions {
  metrics: string[];
  /** Generated images (and at most as many real ones). */
  n: number;
  /** Extractor plugin name. @default 'domain-classifier' */
  extractor?: string;
  /** Which saved generator of the run. @default 'generator' */
  generator?: string;
  seed?: number;
}

/**
 * `duel evaluate`: the run's generator against its own training data, through
 * the same `evaluate` the evaluation callback calls during training. The
 * result (with the extractor's identity) goes to `<run>/evaluation.json`.
 */
export async function evaluateRun(runDir: string, options: EvaluateRunOptions) {
  const unknown = options.metrics.filter((m) => !(METRIC_NAMES as readonly string[]).includes(m));
  if (unknown.length) throw new UserInputError(`--metrics: unknown ${unknown.join(', ')}; valid: ${METRIC_NAMES.join(', ')}`);
  const generatorName = options.generator ?? 'generator';
  const generatorDir = generatorDirOf(runDir, generatorName);
  const { resolved, catalogue } = await loadExperiment({ file: join(runDir, 'experiment.resolved.json') });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await activateBackend(resolved, { line: log, step() {}, epoch() {} });
  const source = (await resolved.parts.data.plugin.create(resolved.parts.data.options, { baseDir: resolved.baseDir, cacheDir: join(cacheRoot(), 'datasets'), log })) as DataSource;
  const dataset = await source.load();
  const extractor = await createExtractor<FeatureExtractor>(catalogue, { type: options.extractor ?? 'domain-classifier', options: {} }, { dataset, baseDir: resolved.baseDir, log });
  const generator = await loadNetwork(generatorDir);
  const latentDim = generator.inputs[0]!.shape[1] as number;
  const seed = options.seed ?? 0;
  const result = await evaluate(generatorSampler(generator, latentDim, seed), dataset, extractor, { metrics: options.metrics as MetricName[], n: options.n, seed });
  generator.dispose();
  extractor.dispose?.();
  // Each saved generator has its own file, so evaluating the EMA one keeps the other's figures.
  const file = generatorName === 'generator' ? 'evaluation.json' : `evaluation-${generatorName}.json`;
  writeFileAtomic(join(runDir, file), `${JSON.stringify({ generator: generatorName, ...result }, null, 2)}\n`);
  tf.disposeVariables();
  return result;
}
