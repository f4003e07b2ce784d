import type { z } from 'zod';
import type { DiscriminatorOutput, ImageShape } from './contracts';

/** The kinds of part an experiment is assembled from. */
export type PluginKind =
  | 'backend'
  | 'data'
  | 'generator'
  | 'discriminator'
  | 'loss'
  | 'augment'
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
  'augment',
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
  /** Data plugins: the image shape their options produce (checked against the model before any tensor exists). */
  imageShape?(options: TOptions): ImageShape;
  /** Discriminator plugins: what their options make the last layer emit. */
  outputOf?(options: TOptions): DiscriminatorOutput;
  /** Loss plugins: what discriminator output they need. */
  expects?: DiscriminatorOutput;
  /** Cross-part checks before any tensor exists; returns problems as messages about this part's options. */
  check?(options: TOptions, env: CheckEnvironment): string[];
  /**
   * Parts named inside this part's options (an evaluation's extractor, a
   * remedy's loss), so the experiment checks them with everything else
   * instead of failing when they are first built, mid-run.
   */
  nested?(options: TOptions): NestedPart[];
}

/** A part inside another part's options; `path` is relative to those options. */
export interface NestedPart {
  readonly kind: PluginKind;
  readonly part: { type: string; options?: unknown };
  readonly path: string;
}

/** What a plugin's `check` may look at. */
export interface CheckEnvironment {
  readonly imageShape?: ImageShape;
}

/** Type helper so that a plugin's options are inferred from its schema. */
export function definePlugin<S extends z.ZodType, TInstance, TContext = unknown>(plugin: {
  kind: PluginKind;
  name: string;
  description: string;
  options: S;
  create(options: z.output<S>, context: TContext): TInstance | Promise<TInstance>;
  imageShape?(options: z.output<S>): ImageShape;
  outputOf?(options: z.output<S>): DiscriminatorOutput;
  expects?: DiscriminatorOutput;
  check?(options: z.output<S>, env: CheckEnvironment): string[];
  nested?(options: z.output<S>): NestedPart[];
}): Plugin<z.output<S>, TInstance, TContext> {
  return plugin as Plugin<z.output<S>, TInstance, TContext>;
}
