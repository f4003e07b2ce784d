import type { z } from 'zod';
import type { ExperimentIssue } from './errors';
import type { PluginKind } from './plugin';
import type { AnyPlugin } from './tokens';

/**
 * Every plugin known to a run, by kind and name. Built once from the
 * container's `getAll(PluginToken)`; after that it is a plain lookup table.
 */
export class PluginCatalogue {
  private readonly byKind = new Map<PluginKind, Map<string, AnyPlugin>>();

  constructor(plugins: Iterable<AnyPlugin> = []) {
    for (const plugin of plugins) this.register(plugin);
  }

  /** Adds a plugin; a second plugin of the same kind and name is an error (not a silent override). */
  register(plugin: AnyPlugin): void {
    const named = this.byKind.get(plugin.kind) ?? new Map<string, AnyPlugin>();
    if (named.has(plugin.name)) throw new Error(`Two ${plugin.kind} plugins are named '${plugin.name}'.`);
    named.set(plugin.name, plugin);
    this.byKind.set(plugin.kind, named);
  }

  get(kind: PluginKind, name: string): AnyPlugin | undefined {
    return this.byKind.get(kind)?.get(name);
  }

  names(kind: PluginKind): string[] {
    return [...(this.byKind.get(kind)?.keys() ?? [])].sort();
  }

  all(): AnyPlugin[] {
    return [...this.byKind.values()].flatMap((named) => [...named.values()]);
  }

  /**
   * Finds the plugin for a part and parses its options, adding every problem
   * to `issues` with its path. Returns undefined when anything is wrong.
   */
  resolve(kind: PluginKind, part: { type: string; options?: unknown }, path: string, issues: ExperimentIssue[]): { plugin: AnyPlugin; options: unknown } | undefined {
    const plugin = this.get(kind, part.type);
    if (!plugin) {
      const valid = this.names(kind);
      issues.push({
        path: `${path}.type`,
        message: `unknown ${kind} '${part.type}'; valid: ${valid.length > 0 ? valid.join(', ') : '(none registered)'}`,
      });
      return undefined;
    }
    const parsed = plugin.options.safeParse(part.options ?? {}, { reportInput: true });
    if (!parsed.success) {
      issues.push(...zodIssues(parsed.error, `${path}.options`));
      return undefined;
    }
    return { plugin, options: parsed.data };
  }
}

function describeInput(input: unknown): string {
  if (input === undefined) return 'nothing';
  const text = JSON.stringify(input);
  return text === undefined ? String(input) : text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

/** zod issues as `path: expected ..., got ...` lines, paths prefixed. */
export function zodIssues(error: z.ZodError, prefix: string): ExperimentIssue[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter((p) => p !== '').join('.');
    const got = 'input' in issue ? `, got ${describeInput((issue as { input?: unknown }).input)}` : '';
    let message: string;
    switch (issue.code) {
      case 'invalid_type':
        message = `expected ${issue.expected}${got}`;
        break;
      case 'too_small': {
        const bound = issue.inclusive ? '>=' : '>';
        message = `expected ${issue.origin} ${bound} ${String(issue.minimum)}${got}`;
        break;
      }
      case 'too_big': {
        const bound = issue.inclusive ? '<=' : '<';
        message = `expected ${issue.origin} ${bound} ${String(issue.maximum)}${got}`;
        break;
      }
      case 'invalid_value':
        message = `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}${got}`;
        break;
      case 'unrecognized_keys':
        message = `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')}`;
        break;
      default:
        message = `${issue.message}${got}`;
    }
    return { path, message };
  });
}
