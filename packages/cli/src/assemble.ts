import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Container, ContainerModule } from 'inversify';
import {
  loadExperimentDocument,
  parseEnvelope,
  PluginCatalogue,
  PluginToken,
  resolveExperiment,
  UserInputError,
  type AnyPlugin,
  type ResolvedExperiment,
} from '@duel/core';
import { augmentModule } from '@duel/augment';
import { callbacksModule } from '@duel/callbacks';
import { dataModule } from '@duel/data';
import { engineModule } from '@duel/engine';
import { lossesModule } from '@duel/losses';
import { metricsModule } from '@duel/metrics';
import { modelsModule } from '@duel/models';
import { optimModule } from '@duel/optim';
import { trackingModule } from '@duel/tracking';

/** Every package's plugins. A user's own come on top, from files or the library API. */
export const builtinModules: readonly ContainerModule[] = [
  engineModule,
  dataModule,
  modelsModule,
  lossesModule,
  augmentModule,
  optimModule,
  callbacksModule,
  trackingModule,
  metricsModule,
];

/** Wraps plain plugin objects as a module, for the library API. */
export function pluginsModule(plugins: readonly AnyPlugin[]): ContainerModule {
  return new ContainerModule(({ bind }) => {
    for (const plugin of plugins) bind(PluginToken).toConstantValue(plugin);
  });
}

/**
 * Loads a user's plugin file. It may export, as default or as `plugins`, a
 * ContainerModule, one plugin, or a list of plugins.
 */
export async function loadPluginFile(file: string): Promise<ContainerModule> {
  if (!existsSync(file)) throw new UserInputError(`plugins: ${file}: no such file`);
  let exported: Record<string, unknown>;
  try {
    exported = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UserInputError(`plugins: ${file}: could not be loaded: ${error instanceof Error ? error.message : String(error)}`);
  }
  const value = exported['default'] ?? exported['plugins'];
  if (value instanceof ContainerModule) return value;
  const list = Array.isArray(value) ? value : value ? [value] : [];
  const plugins = list.filter((p): p is AnyPlugin => typeof p === 'object' && p !== null && 'kind' in p && 'name' in p && 'create' in p);
  if (plugins.length === 0 || plugins.length !== list.length) {
    throw new UserInputError(`plugins: ${file}: expected a default export (or \`plugins\`) that is a ContainerModule, a plugin or a list of plugins`);
  }
  return pluginsModule(plugins);
}

/**
 * The one place the container is used: every module is loaded, the plugins
 * are collected by their token into a catalogue, and the container is done.
 */
export async function buildCatalogue(extra: { files?: readonly string[]; modules?: readonly ContainerModule[] } = {}): Promise<PluginCatalogue> {
  const container = new Container();
  await container.load(...builtinModules, ...(extra.modules ?? []));
  for (const file of extra.files ?? []) await container.load(await loadPluginFile(file));
  return new PluginCatalogue(container.getAll<AnyPlugin>(PluginToken));
}

/** Where an experiment comes from: a file, or an object (library API, sweeps). */
export interface ExperimentSource {
  file?: string;
  document?: Record<string, unknown>;
  /** `--set path=value` overrides. */
  set?: readonly string[];
  /** Extra plugin modules (library API). */
  modules?: readonly ContainerModule[];
  /** Folder relative paths resolve against when there is no file. @default cwd */
  baseDir?: string;
}

/** Reads, merges and validates an experiment, loading the plugin files it names. */
export async function loadExperiment(source: ExperimentSource): Promise<{ resolved: ResolvedExperiment; catalogue: PluginCatalogue }> {
  const file = source.file ? resolve(source.file) : undefined;
  const doc = loadExperimentDocument({ ...(file ? { file } : {}), ...(source.document ? { document: source.document } : {}) }, source.set ?? []);
  const label = file ?? 'experiment';
  const envelope = parseEnvelope(doc, label);
  const baseDir = file ? dirname(file) : resolve(source.baseDir ?? process.cwd());
  const pluginFiles = envelope.plugins.map((p) => resolve(baseDir, p));
  const catalogue = await buildCatalogue({ files: pluginFiles, ...(source.modules ? { modules: source.modules } : {}) });
  const resolved = resolveExperiment(envelope, catalogue, { ...(file ? { file } : {}), baseDir });
  return { resolved, catalogue };
}
