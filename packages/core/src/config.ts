import { readFileSync, existsSync } from 'node:fs';
import { dirname, extname, isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { PluginCatalogue } from './catalogue';
import { zodIssues } from './catalogue';
import type { ImageShape } from './contracts';
import { UserInputError, type ExperimentIssue } from './errors';
import { experimentSchema, type Experiment, type Part } from './experiment';
import type { PluginKind } from './plugin';
import type { AnyPlugin } from './tokens';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const isObject = (value: unknown): value is JsonObject => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Objects merge key by key; anything else (arrays included) is replaced. A
 * part whose `type` changes is replaced whole: options belong to their plugin.
 */
export function deepMerge(base: Json, override: Json): Json {
  if (!isObject(base) || !isObject(override)) return override;
  if (typeof override['type'] === 'string' && typeof base['type'] === 'string' && override['type'] !== base['type']) return override;
  const out: JsonObject = { ...base };
  for (const [key, value] of Object.entries(override)) out[key] = key in base ? deepMerge(base[key]!, value) : value;
  return out;
}

function readDocument(file: string): JsonObject {
  if (!existsSync(file)) throw new UserInputError(`Experiment file not found: ${file}`);
  const text = readFileSync(file, 'utf8');
  let doc: unknown;
  const ext = extname(file).toLowerCase();
  try {
    doc = ext === '.json' ? JSON.parse(text) : parseYaml(text, { prettyErrors: true });
  } catch (error) {
    const where = error instanceof YAMLParseError && error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new UserInputError(`${file}: not valid ${ext === '.json' ? 'JSON' : 'YAML'}${where}: ${reason}`);
  }
  if (!isObject(doc)) throw new UserInputError(`${file}: expected a mapping of experiment fields at the top level, got ${doc === null ? 'an empty document' : typeof doc}`);
  return doc;
}

/** Reads a file and everything it `extends`, child fields over parent fields; detects cycles. */
export function readExperimentFile(file: string, chain: string[] = []): JsonObject {
  const path = resolve(file);
  if (chain.includes(path)) throw new UserInputError(`${chain[0]}: circular extends: ${[...chain, path].join(' -> ')}`);
  const doc = readDocument(path);
  const parent = doc['extends'];
  delete doc['extends'];
  if (parent === undefined) return rebasePaths(doc, dirname(path));
  if (typeof parent !== 'string') throw new UserInputError(`${path}: extends: expected a file path, got ${JSON.stringify(parent)}`);
  const parentPath = isAbsolute(parent) ? parent : resolve(dirname(path), parent);
  const base = readExperimentFile(parentPath, [...chain, path]);
  return deepMerge(base, rebasePaths(doc, dirname(path))) as JsonObject;
}

/**
 * Plugin files are named relative to the file that names them, so an
 * inherited `plugins:` entry still points at the right file.
 */
function rebasePaths(doc: JsonObject, dir: string): JsonObject {
  const plugins = doc['plugins'];
  if (Array.isArray(plugins)) doc['plugins'] = plugins.map((p) => (typeof p === 'string' && !isAbsolute(p) ? resolve(dir, p) : p));
  return doc;
}

/** Parses the value of `--set path=value` as YAML: numbers, booleans, null, lists and maps are typed. */
export function parseOverride(assignment: string): { path: string[]; value: Json } {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserInputError(`--set ${assignment}: expected path=value, e.g. --set loss.options.noise=0.05`);
  const path = assignment.slice(0, eq).trim().split('.');
  const text = assignment.slice(eq + 1);
  let value: Json;
  try {
    value = text.trim() === '' ? '' : (parseYaml(text) as Json);
  } catch {
    value = text;
  }
  if (path.some((segment) => segment === '')) throw new UserInputError(`--set ${assignment}: empty segment in path '${assignment.slice(0, eq)}'`);
  return { path, value };
}

/** Sets a dotted path (numeric segments index lists). */
export function setPath(doc: JsonObject, path: string[], value: Json): void {
  let node: Json = doc;
  for (let i = 0; i < path.length - 1; i++) {
    const key = path[i]!;
    if (Array.isArray(node)) {
      const index = Number(key);
      if (!Number.isInteger(index) || index < 0) throw new UserInputError(`--set ${path.join('.')}: '${key}' is not a list index`);
      node[index] ??= {};
      node = node[index]!;
    } else if (isObject(node)) {
      if (!isObject(node[key]) && !Array.isArray(node[key])) node[key] = {};
      node = node[key]!;
    }
  }
  const last = path[path.length - 1]!;
  if (Array.isArray(node)) node[Number(last)] = value;
  else if (isObject(node)) {
    // `--set loss.type=hinge` swaps the plugin: the old plugin's options go with it.
    if (last === 'type' && typeof node['type'] === 'string' && node['type'] !== value) delete node['options'];
    node[last] = value;
  }
}

/** A part after validation: its plugin and parsed options. */
export interface ResolvedPart<TOptions = unknown> {
  readonly type: string;
  readonly options: TOptions;
  readonly plugin: AnyPlugin;
}

/** An experiment checked end to end, ready to assemble. */
export interface ResolvedExperiment {
  /** The envelope with every part's options parsed and defaulted: what `experiment.resolved.json` holds. */
  readonly experiment: Experiment;
  /** The file it came from, when there is one. */
  readonly file?: string;
  /** Relative data paths resolve against this folder. */
  readonly baseDir: string;
  readonly imageShape: ImageShape;
  readonly parts: {
    backend: ResolvedPart;
    data: ResolvedPart;
    generator: ResolvedPart;
    discriminator: ResolvedPart;
    loss: ResolvedPart;
    augment: ResolvedPart[];
    generatorOptimizer: ResolvedPart;
    discriminatorOptimizer: ResolvedPart;
    callbacks: ResolvedPart[];
    trackers: ResolvedPart[];
  };
}

/** Loads the raw document: file (with extends) or the given object, then `--set` overrides. */
export function loadExperimentDocument(source: { file?: string; document?: Record<string, unknown> }, overrides: readonly string[] = []): JsonObject {
  const doc = source.file ? readExperimentFile(source.file) : (structuredClone(source.document ?? {}) as JsonObject);
  for (const assignment of overrides) {
    const { path, value } = parseOverride(assignment);
    setPath(doc, path, value);
  }
  return doc;
}

/** Parses the envelope only (enough to know which plugin files to load). */
export function parseEnvelope(doc: JsonObject, label: string): Experiment {
  const parsed = experimentSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw new UserInputError(`${label}: the experiment is not valid:`, zodIssues(parsed.error, ''));
  return parsed.data;
}

/**
 * Checks every part against its plugin and the parts against each other,
 * collecting every problem before failing, all before any tensor exists.
 */
export function resolveExperiment(experiment: Experiment, catalogue: PluginCatalogue, where: { file?: string; baseDir: string }): ResolvedExperiment {
  const issues: ExperimentIssue[] = [];
  const label = where.file ?? 'experiment';
  const one = (kind: PluginKind, part: Part, path: string) => {
    const found = catalogue.resolve(kind, part, path, issues);
    if (found) checkNested(found, path);
    return found;
  };
  // Parts inside a part's options (an extractor, a remedy loss, an extractor's data), to any depth.
  const nestedLosses: { plugin: AnyPlugin; path: string }[] = [];
  const checkNested = (found: { plugin: AnyPlugin; options: unknown }, path: string): void => {
    for (const inner of found.plugin.nested?.(found.options) ?? []) {
      const innerPath = `${path}.options.${inner.path}`;
      const resolved = catalogue.resolve(inner.kind, inner.part, innerPath, issues);
      if (!resolved) continue;
      if (inner.kind === 'loss') nestedLosses.push({ plugin: resolved.plugin, path: innerPath });
      checkNested(resolved, innerPath);
    }
  };
  const backend = one('backend', experiment.backend, 'backend');
  const data = one('data', experiment.data, 'data');
  const generator = one('generator', experiment.model.generator, 'model.generator');
  const discriminator = one('discriminator', experiment.model.discriminator, 'model.discriminator');
  const loss = one('loss', experiment.loss, 'loss');
  const augment = experiment.augment.map((part, i) => one('augment', part, `augment.${i}`));
  const gOpt = one('optimizer', experiment.optimizers.generator, 'optimizers.generator');
  const dOpt = one('optimizer', experiment.optimizers.discriminator, 'optimizers.discriminator');
  const callbacks = experiment.callbacks.map((part, i) => one('callback', part, `callbacks.${i}`));
  const trackers = experiment.tracking.map((part, i) => one('tracker', part, `tracking.${i}`));

  const imageShape: ImageShape = data?.plugin.imageShape?.(data.options) ?? { height: 64, width: 64, channels: 1 };
  for (const [resolved, path] of [
    [generator, 'model.generator'],
    [discriminator, 'model.discriminator'],
    [loss, 'loss'],
  ] as const) {
    for (const message of resolved?.plugin.check?.(resolved.options, { imageShape }) ?? []) issues.push({ path: `${path}.options`, message });
  }
  const output = discriminator?.plugin.outputOf?.(discriminator.options);
  // Every loss the run may use (a remedy's too) must read the discriminator's output as it is.
  for (const candidate of [...(loss ? [{ plugin: loss.plugin, path: 'loss' }] : []), ...nestedLosses]) {
    const expects = candidate.plugin.expects;
    if (!output || !expects || output === expects) continue;
    issues.push({
      path: `${candidate.path}.type`,
      message: `'${candidate.plugin.name}' expects a discriminator that outputs ${expects === 'logit' ? 'logits' : 'probabilities'}, but model.discriminator outputs ${output === 'logit' ? 'logits' : 'probabilities'} (set model.discriminator.options.output: ${expects})`,
    });
  }
  if (issues.length > 0) throw new UserInputError(`${label}: the experiment is not valid:`, issues);

  const part = (p: { plugin: AnyPlugin; options: unknown } | undefined, type: string): ResolvedPart => ({ type, options: p!.options, plugin: p!.plugin });
  const resolvedExperiment: Experiment = {
    ...experiment,
    backend: { type: experiment.backend.type, options: backend!.options as Record<string, unknown> },
    data: { type: experiment.data.type, options: data!.options as Record<string, unknown> },
    model: {
      generator: { type: experiment.model.generator.type, options: generator!.options as Record<string, unknown> },
      discriminator: { type: experiment.model.discriminator.type, options: discriminator!.options as Record<string, unknown> },
    },
    loss: { type: experiment.loss.type, options: loss!.options as Record<string, unknown> },
    augment: experiment.augment.map((a, i) => ({ type: a.type, options: augment[i]!.options as Record<string, unknown> })),
    optimizers: {
      generator: { type: experiment.optimizers.generator.type, options: gOpt!.options as Record<string, unknown> },
      discriminator: { type: experiment.optimizers.discriminator.type, options: dOpt!.options as Record<string, unknown> },
    },
    callbacks: experiment.callbacks.map((c, i) => ({ type: c.type, options: callbacks[i]!.options as Record<string, unknown> })),
    tracking: experiment.tracking.map((t, i) => ({ type: t.type, options: trackers[i]!.options as Record<string, unknown> })),
  };
  return {
    experiment: resolvedExperiment,
    ...(where.file ? { file: where.file } : {}),
    baseDir: where.baseDir,
    imageShape,
    parts: {
      backend: part(backend, experiment.backend.type),
      data: part(data, experiment.data.type),
      generator: part(generator, experiment.model.generator.type),
      discriminator: part(discriminator, experiment.model.discriminator.type),
      loss: part(loss, experiment.loss.type),
      augment: augment.map((a, i) => part(a, experiment.augment[i]!.type)),
      generatorOptimizer: part(gOpt, experiment.optimizers.generator.type),
      discriminatorOptimizer: part(dOpt, experiment.optimizers.discriminator.type),
      callbacks: callbacks.map((c, i) => part(c, experiment.callbacks[i]!.type)),
      trackers: trackers.map((t, i) => part(t, experiment.tracking[i]!.type)),
    },
  };
}

/**
 * A short name for an experiment value, for tables and legends: a part by its
 * type, a list by its items' names joined with '+' ('none' when empty).
 */
export function settingLabel(value: unknown): string {
  if (Array.isArray(value)) return value.length === 0 ? 'none' : value.map(settingLabel).join('+');
  if (value !== null && typeof value === 'object') {
    const type = (value as { type?: unknown }).type;
    return typeof type === 'string' ? type : JSON.stringify(value);
  }
  return String(value);
}
