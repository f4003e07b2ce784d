import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { loadNetwork, UserInputError, writeFileAtomic, type Experiment, type Part } from '@duel/core';
import { evaluate, generatorSampler, METRIC_NAMES, type FeatureExtractor, type MetricName } from '@duel/metrics';
import { loadExperiment } from './assemble';
import { activateBackend, createExtractor, loadDataset } from './run';
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
 * The extractor `duel evaluate` uses: the one named on the command line, else
 * the run's own evaluation callback's (options included), so the numbers
 * compare with those logged during training; else the domain classifier.
 */
function extractorPart(experiment: Experiment, named: string | undefined): Part {
  const callback = experiment.callbacks.find((c) => c.type === 'evaluation');
  const own = callback?.options['extractor'] as Part | undefined;
  if (named) return own?.type === named ? own : { type: named, options: {} };
  return own ?? { type: 'domain-classifier', options: {} };
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
  const dataset = await loadDataset(resolved.parts.data, resolved.baseDir, log);
  const extractor = await createExtractor<FeatureExtractor>(catalogue, extractorPart(resolved.experiment, options.extractor), { dataset, baseDir: resolved.baseDir, log });
  const generator = await loadNetwork(generatorDir);
  const latentDim = generator.inputs[0]!.shape[1] as number;
  const seed = options.seed ?? 0;
  const result = await evaluate(generatorSampler(generator, latentDim, seed), dataset, extractor, { metrics: options.metrics as MetricName[], n: options.n, seed });
  generator.dispose();
  extractor.dispose?.();
  // Each saved generator has its own file, so evaluating the EMA one keeps the other's figures.
  const file = generatorName === 'generator' ? 'evaluation.json' : `evaluation-${generatorName.replace('/', '-')}.json`;
  writeFileAtomic(join(runDir, file), `${JSON.stringify({ generator: generatorName, ...result }, null, 2)}\n`);
  tf.disposeVariables();
  return result;
}
