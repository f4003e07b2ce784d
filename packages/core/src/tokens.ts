import type { Plugin } from './plugin';

/**
 * The one injection token for plugins. Every package binds its plugins to it
 * with `toConstantValue`, and the assembly collects them with `getAll`.
 */
export const PluginToken: symbol = Symbol.for('duel.Plugin');
export type AnyPlugin = Plugin<any, any, any>;
