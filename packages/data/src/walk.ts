import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** A file the walk found, with what the cache key needs to notice a change. */
export interface ListedFile {
  /** Path relative to the root, with `/` separators. */
  readonly relative: string;
  readonly absolute: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** A path that looked like an image but could not even be inspected. */
export interface UnreadableFile {
  readonly file: string;
  readonly reason: string;
}

/** Code-unit order: the same on every machine, whatever the locale (Python's `sorted`). */
export const byCodeUnit = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Lists the files under `root` whose extension (case-insensitive) is in
 * `extensions`, depth first in code-unit order of the names at each level, so
 * the order is the same on every machine. Hidden entries (a leading `.`, such
 * as macOS `._x.png` shadows) are left out. Symbolic links are followed once;
 * a link that leads nowhere is reported as unreadable.
 */
export async function listFiles(
  root: string,
  extensions: readonly string[],
): Promise<{ files: ListedFile[]; unreadable: UnreadableFile[] }> {
  const wanted = new Set(extensions.map((e) => e.replace(/^\./, '').toLowerCase()));
  const files: ListedFile[] = [];
  const unreadable: UnreadableFile[] = [];
  const visited = new Set<string>();

  const walk = async (dir: string, relativeDir: string): Promise<void> => {
    const real = await realpath(dir);
    if (visited.has(real)) return; // a link cycle
    visited.add(real);
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => byCodeUnit(a.name, b.name));
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const absolute = path.join(dir, entry.name);
      const relative = relativeDir === '' ? entry.name : `${relativeDir}/${entry.name}`;
      const isImageName = wanted.has(path.extname(entry.name).slice(1).toLowerCase());
      let info;
      try {
        info = entry.isSymbolicLink() || entry.isFile() || entry.isDirectory() ? await stat(absolute) : undefined;
      } catch (error) {
        if (isImageName) unreadable.push({ file: absolute, reason: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` });
        continue;
      }
      if (info === undefined) continue;
      if (info.isDirectory()) await walk(absolute, relative);
      else if (info.isFile() && isImageName) files.push({ relative, absolute, size: info.size, mtimeMs: info.mtimeMs });
    }
  };

  await walk(root, '');
  return { files, unreadable };
}
