import { readFile } from 'node:fs/promises';
import { basename, isAbsolute, join, resolve } from 'node:path';
import { settingLabel, UserInputError } from '@duel/core';
import { parseCsv } from './csv';
import { asRecord, asString, exists, readOptionalJson, readOptionalJsonl } from './files';
import { readRun, type RunData } from './read-run';

/** One trial of a sweep, as `trials.jsonl` lists it, with its run when it has one. */
export interface TrialData {
  readonly id: string;
  readonly status?: string;
  /** Setting path (`optimizers.generator.options.learningRate`) to the trial's value. */
  readonly settings: Readonly<Record<string, unknown>>;
  /** The trial's run directory, resolved; its run is read when it holds `metrics.jsonl`. */
  readonly runDir: string;
  readonly run?: RunData;
  /** The trial's summary figures from `trials.jsonl`. */
  readonly metrics: Readonly<Record<string, unknown>>;
}

/** Everything a sweep directory holds that a report shows. */
export interface SweepData {
  readonly dir: string;
  readonly name: string;
  readonly sweep: Record<string, unknown>;
  readonly trials: readonly TrialData[];
  /** `results.csv` as header plus rows, when present. */
  readonly results?: { readonly header: readonly string[]; readonly rows: readonly (readonly string[])[] };
}

/** Whether a folder looks like a sweep (it has `sweep.json`). */
export async function isSweepDir(dir: string): Promise<boolean> {
  return exists(join(dir, 'sweep.json'));
}

/**
 * Reads a sweep directory: `sweep.json` (required), `trials.jsonl`,
 * `results.csv` and each trial's run directory. A trial whose run has no
 * metrics yet is listed without curves.
 */
export async function readSweep(dir: string): Promise<SweepData> {
  const sweepPath = join(dir, 'sweep.json');
  const sweepValue = await readOptionalJson(sweepPath);
  if (sweepValue === undefined) throw new UserInputError(`${dir} is not a sweep directory: ${sweepPath} not found`);
  const sweep = asRecord(sweepValue);
  if (sweep === undefined) throw new UserInputError(`${sweepPath}: expected a JSON object`);

  const trialsPath = join(dir, 'trials.jsonl');
  const trialObjects = (await readOptionalJsonl(trialsPath)) ?? [];
  const trials: TrialData[] = [];
  for (const [index, object] of trialObjects.entries()) {
    const id = asString(object.id) ?? (typeof object.id === 'number' ? String(object.id) : undefined);
    if (id === undefined) throw new UserInputError(`${trialsPath}: record ${index + 1} has no "id"`);
    const runDir = await trialRunDir(dir, id, asString(object.runDir));
    const run = (await exists(join(runDir, 'metrics.jsonl'))) ? await readRun(runDir) : undefined;
    trials.push({
      id,
      status: asString(object.status),
      settings: asRecord(object.settings) ?? {},
      runDir,
      run,
      metrics: asRecord(object.metrics) ?? {},
    });
  }

  const resultsPath = join(dir, 'results.csv');
  let results: SweepData['results'];
  if (await exists(resultsPath)) {
    const [header, ...rows] = parseCsv(await readFile(resultsPath, 'utf8'));
    if (header !== undefined) results = { header, rows: rows.filter((row) => row.some((cell) => cell !== '')) };
  }
  if (trials.length === 0 && results === undefined) {
    throw new UserInputError(`${dir}: the sweep has neither ${trialsPath} nor ${resultsPath}`);
  }
  return { dir, name: asString(sweep.name) ?? basename(dir), sweep, trials, results };
}

/**
 * The setting paths whose values differ between trials (what a legend must
 * show); all of them when every trial agrees or there is only one.
 */
export function variedSettings(trials: readonly TrialData[]): string[] {
  const paths = [...new Set(trials.flatMap((trial) => Object.keys(trial.settings)))];
  const varied = paths.filter((path) => new Set(trials.map((trial) => JSON.stringify(trial.settings[path]))).size > 1);
  return varied.length > 0 ? varied : paths;
}

/** A trial's legend label: its id and its values of the varied settings. */
export function trialLabel(trial: TrialData, varied: readonly string[]): string {
  const names = shortNames(varied);
  const parts = varied.filter((path) => path in trial.settings).map((path) => `${names.get(path)}=${settingLabel(trial.settings[path])}`);
  return parts.length === 0 ? trial.id : `${trial.id}: ${parts.join(', ')}`;
}

/** The last segment of each path, or more of it where two would read the same. */
function shortNames(paths: readonly string[]): Map<string, string> {
  const names = new Map<string, string>();
  for (const path of paths) {
    const segments = path.split('.');
    let depth = 1;
    const clashes = (d: number) =>
      paths.some((other) => other !== path && other.split('.').slice(-d).join('.') === segments.slice(-d).join('.'));
    while (depth < segments.length && clashes(depth)) depth += 1;
    names.set(path, segments.slice(-depth).join('.'));
  }
  return names;
}


/** `runDir` from trials.jsonl (absolute, or relative to the sweep), else `trials/<id>`. */
async function trialRunDir(sweepDir: string, id: string, listed: string | undefined): Promise<string> {
  if (listed !== undefined) {
    const candidates = isAbsolute(listed) ? [listed] : [resolve(sweepDir, listed), resolve(listed)];
    for (const candidate of candidates) if (await exists(candidate)) return candidate;
  }
  return join(sweepDir, 'trials', id);
}
