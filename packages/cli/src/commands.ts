import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { deriveSeed, generate, loadNetwork, PLUGIN_KINDS, UserInputError, writeFileAtomic, type BuiltNetwork } from '@duel/core';
import { encodePng, fromTensor, makeGrid } from '@duel/data';
import { buildCatalogue, loadExperiment } from './assemble';
import { DEFAULT_EXPERIMENT } from './default-experiment';
import type { CliValues } from './main';
import { activateBackend, train } from './run';
import { generatorDirOf } from './run-dir';
import { runSweep } from './sweep';
import { summary } from '@duel/models';

type Command = (args: string[], values: CliValues) => Promise<number>;

function tags(values: CliValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const tag of values.tag ?? []) {
    const eq = tag.indexOf('=');
    if (eq <= 0) throw new UserInputError(`--tag ${tag}: expected key=value`);
    out[tag.slice(0, eq)] = tag.slice(eq + 1);
  }
  return out;
}

function intOption(values: CliValues, name: 'n' | 'seed' | 'parallel', fallback: number): number {
  const raw = values[name];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < (name === 'seed' ? 0 : 1)) throw new UserInputError(`--${name} ${raw}: expected a whole number${name === 'seed' ? ' >= 0' : ' >= 1'}`);
  return value;
}

/** The experiment a command names, or the embedded default. */
function source(args: string[], values: CliValues) {
  const file = args[0];
  return {
    ...(file ? { file } : values.resume ? {} : { document: DEFAULT_EXPERIMENT }),
    set: values.set ?? [],
  };
}

export const commands: Record<string, Command> = {
  async train(args, values) {
    if (values['dry-run']) {
      const { resolved } = await loadExperiment(source(args, values));
      process.stdout.write(`${JSON.stringify(resolved.experiment, null, 2)}\n`);
      return 0;
    }
    const result = await train({
      ...source(args, values),
      ...(values.out ? { out: values.out } : {}),
      ...(values.resume ? { resume: values.resume } : {}),
      ...(values['parent-run-id'] ? { parentRunId: values['parent-run-id'] } : {}),
      ...(values['run-name'] ? { runName: values['run-name'] } : {}),
      tags: tags(values),
    });
    process.stderr.write(`run ${result.status.toLowerCase()}: ${result.runDir}\n`);
    return result.status === 'FINISHED' ? 0 : result.status === 'KILLED' ? 130 : 1;
  },

  async describe(args, values) {
    const { resolved } = await loadExperiment(source(args, values));
    process.stdout.write(`${JSON.stringify(resolved.experiment, null, 2)}\n\n`);
    // Summaries need the networks built, on the cheapest backend: no training happens.
    await tf.setBackend('cpu');
    const context = { imageShape: resolved.imageShape, seed: 0, random: { nextSeed: () => 0 } };
    const generator = (await resolved.parts.generator.plugin.create(resolved.parts.generator.options, context)) as BuiltNetwork;
    const discriminator = (await resolved.parts.discriminator.plugin.create(resolved.parts.discriminator.options, context)) as BuiltNetwork;
    process.stdout.write(`Generator (${resolved.experiment.model.generator.type})\n${summary(generator.model).text}\n\n`);
    process.stdout.write(`Discriminator (${resolved.experiment.model.discriminator.type})\n${summary(discriminator.model).text}\n`);
    generator.model.dispose();
    discriminator.model.dispose();
    return 0;
  },

  async sample(args, values) {
    const runDir = args[0];
    if (!runDir) throw new UserInputError('sample: expected a run directory');
    const generatorDir = generatorDirOf(runDir, values.generator);
    const { resolved } = await loadExperiment({ file: join(resolve(runDir), 'experiment.resolved.json'), set: values.set ?? [] });
    await activateBackend(resolved, { line: (l) => process.stderr.write(`${l}\n`), step() {}, epoch() {} });
    const n = intOption(values, 'n', 64);
    const seed = intOption(values, 'seed', 1);
    const out = resolve(values.out ?? 'samples.png');
    const generator = await loadNetwork(generatorDir);
    const latentDim = generator.inputs[0]!.shape[1] as number;
    const z = tf.randomNormal([n, latentDim], 0, 1, 'float32', deriveSeed(seed, 0)) as tf.Tensor2D;
    const images = generate(generator, z);
    const grid = makeGrid(fromTensor(images), { cols: Math.ceil(Math.sqrt(n)) });
    tf.dispose([z, images]);
    generator.dispose();
    writeFileAtomic(out, await encodePng(grid.pixels, grid.width, grid.height, grid.channels));
    process.stderr.write(`${n} samples (seed ${seed}) -> ${out}\n`);
    return 0;
  },

  async sweep(args, values) {
    const result = await runSweep({
      ...(args[0] ? { file: args[0] } : {}),
      ...(values.out ? { out: values.out } : {}),
      ...(values.resume ? { resume: values.resume } : {}),
      ...(values.sort ? { sortBy: values.sort } : {}),
      parallel: intOption(values, 'parallel', 1),
      dryRun: Boolean(values['dry-run']),
    });
    if (values['dry-run']) {
      for (const trial of result.trials) process.stdout.write(`${trial.id}\t${JSON.stringify(trial.settings)}\tseed=${trial.seed}\n`);
      process.stdout.write(`${result.trials.length} trials\n`);
      return 0;
    }
    process.stderr.write(`sweep done: ${result.dir}/results.md\n`);
    if (result.records.length === result.trials.length && result.records.every((r) => r.status === 'FINISHED')) return 0;
    // An interrupted sweep (a trial KILLED, or trials never started) exits as interrupted, like `duel train`.
    return result.records.some((r) => r.status === 'FAILED') ? 1 : 130;
  },

  async report(args, values) {
    const dir = args[0];
    if (!dir) throw new UserInputError('report: expected a run or sweep directory');
    const { writeReport } = await import('@duel/report');
    const path = await writeReport(resolve(dir), values.out ? { out: resolve(values.out) } : {});
    process.stderr.write(`report: ${path}\n`);
    return 0;
  },

  async sync(args) {
    const dir = args[0];
    if (!dir) throw new UserInputError('sync: expected a run directory');
    const { syncRun } = await import('@duel/tracking');
    const result = await syncRun(resolve(dir));
    process.stderr.write(`sync: ${result.sent} sent, ${result.rejected} rejected, ${result.pending} still queued${result.synced ? '' : ` (${result.reason ?? 'not synced'})`}\n`);
    return result.synced ? 0 : 1;
  },

  async evaluate(args, values) {
    const dir = args[0];
    if (!dir) throw new UserInputError('evaluate: expected a run directory');
    const { evaluateRun } = await import('./evaluate');
    const result = await evaluateRun(resolve(dir), {
      metrics: (values.metrics ?? 'fid,kid,pr').split(',').map((m) => m.trim()),
      n: intOption(values, 'n', 1000),
      ...(values.extractor ? { extractor: values.extractor } : {}),
      ...(values.generator ? { generator: values.generator } : {}),
    });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  },

  async plugins() {
    const catalogue = await buildCatalogue();
    for (const kind of PLUGIN_KINDS) {
      const names = catalogue.names(kind);
      if (names.length === 0) continue;
      process.stdout.write(`${kind}:\n`);
      for (const name of names) process.stdout.write(`  ${name.padEnd(28)} ${catalogue.get(kind, name)!.description}\n`);
    }
    return 0;
  },
};
