import type { z } from 'zod';

/** The kinds of part an experiment is assembled from. */
export type PluginKind =
  | 'backend'
  | 'data'
  | 'generator'
  | 'discriminator'
  | 'loss'
  | 'optimizer'
  | 'schedule'
  | 'callback'
  | 'tracker'
  | 'extractor';

export const PLUGIN_KINDS: readonly PluginKind[] = [
  'backend',
  'data',
  'generator',
  'discriminator',
  'loss',
  'optimizer',
  'schedule',
  'callback',
  'tracker',
  'extractor',
];

/**
 * A swappable part: a name, a zod schema for its options and a factory.
 * Plugins are plain objects; nothing in them knows about the container.
 *
 * @typeParam TOptions - the parsed options (defaults applied).
 * @typeParam TInstance - what the factory builds.
 * @typeParam TContext - what the factory receives besides its options.
 */
export interface Plugin<TOptions = any, TInstance = unknown, TContext = any> {
  readonly kind: PluginKind;
  /** The name an experiment file uses in `type:`. kebab-case. */
  readonly name: string;
  /** One line for `duel plugins` and error messages. */
  readonly description: string;
  /** Validates and defaults the `options:` block of the part. */
  readonly options: z.ZodType<TOptions>;
  create(options: TOptions, context: TContext): TInstance | Promise<TInstance>;
}

/** Type helper so that a plugin's options are inferred from its schema. */
export function definePlugin<S extends z.ZodType, TInstance, TContext = unknown>(plugin: {
  kind: PluginKind;
  name: string;
  description: string;
  options: S;
  create(options: z.output<S>, context: TContext): TInstance | Promise<TInstance>;
}): Plugin<z.output<S>, TInstance, TContext> {
  return plugin as Plugin<z.output<S>, TInstance, TContext>;
}
