import { readFile, stat } from 'node:fs/promises';
import { UserInputError } from '@duel/core';

/** Whether a path exists (file or folder). */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** A file's text, or `undefined` when it is absent; other read errors are thrown. */
async function readOptionalText(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** A JSON file's value, or `undefined` when the file is absent. Bad JSON is a `UserInputError`. */
export async function readOptionalJson(path: string): Promise<unknown> {
  const text = await readOptionalText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UserInputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}

/**
 * The objects of a JSON-lines file, or `undefined` when it is absent. Blank
 * lines are skipped, and so is an unterminated last line: a run still in
 * progress may be halfway through appending it. Any other bad line is a
 * `UserInputError` naming the file and line.
 */
export async function readOptionalJsonl(path: string): Promise<Record<string, unknown>[] | undefined> {
  const text = await readOptionalText(path);
  if (text === undefined) return undefined;
  const lines = text.split('\n');
  const rows: Record<string, unknown>[] = [];
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const isPartialLast = index === lines.length - 1;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      if (isPartialLast) continue;
      throw new UserInputError(`${path}:${index + 1}: not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new UserInputError(`${path}:${index + 1}: expected a JSON object, got ${JSON.stringify(value).slice(0, 40)}`);
    }
    rows.push(value as Record<string, unknown>);
  }
  return rows;
}

/** A plain object's entries, or `undefined` for anything else. */
export function asRecord(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/** The value if it is a non-empty string. */
export function asString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The value if it is a finite number. */
export function asNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}
