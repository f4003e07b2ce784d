import { mkdir, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserInputError } from '@duel/core';
import { exists } from './files';
import { readRun } from './read-run';
import { isSweepDir, readSweep } from './read-sweep';
import { renderRunReport } from './run-report';
import { renderSweepReport } from './sweep-report';

/** Options of {@link writeReport}. */
export interface WriteReportOptions {
  /** Where the HTML goes. @default `<dir>/report.html` */
  readonly out?: string;
  /**
   * The most sample grids a run report embeds (evenly spaced, first and last kept).
   * @default 80
   */
  readonly maxSamples?: number;
}

/**
 * Writes one self-contained HTML report (Chart.js, images and data inlined;
 * it loads nothing over the network) for a run directory or a sweep directory,
 * told apart by `sweep.json`. Returns the report's absolute path.
 *
 * @throws UserInputError when `dir` is missing or is neither a run (no
 *   `metrics.jsonl`) nor a sweep, or when one of its files is malformed.
 */
export async function writeReport(dir: string, options: WriteReportOptions = {}): Promise<string> {
  const folder = resolve(dir);
  const info = await stat(folder).catch(() => undefined);
  if (info === undefined) throw new UserInputError(`Run or sweep directory not found: ${folder}`);
  if (!info.isDirectory()) throw new UserInputError(`Not a directory: ${folder} (expected a run or sweep directory)`);

  let html: string;
  if (await isSweepDir(folder)) {
    html = await renderSweepReport(await readSweep(folder));
  } else if (await exists(join(folder, 'metrics.jsonl'))) {
    html = await renderRunReport(await readRun(folder), { maxSamples: options.maxSamples });
  } else {
    throw new UserInputError(
      `${folder} is neither a run directory (no ${join(folder, 'metrics.jsonl')}) nor a sweep directory (no ${join(folder, 'sweep.json')})`,
    );
  }

  const out = resolve(options.out ?? join(folder, 'report.html'));
  await mkdir(dirname(out), { recursive: true });
  // Write beside the target and rename, so a reader never sees half a report.
  const partial = `${out}.${process.pid}.partial`;
  await writeFile(partial, html);
  await rename(partial, out);
  return out;
}
