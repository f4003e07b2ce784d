import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { UserInputError } from '@duel/core';
import { asNumber, asRecord, asString, readOptionalJson, readOptionalJsonl } from './files';

/** One epoch's figures from `metrics.jsonl`: its epoch and every finite numeric field. */
export interface MetricRow {
  readonly epoch: number;
  readonly values: Readonly<Record<string, number>>;
}

/** A sample grid file of one epoch. */
export interface SampleFile {
  readonly epoch: number;
  readonly path: string;
}

/** A finding from `diagnostics.jsonl`. */
export interface Finding {
  readonly kind: string;
  readonly epoch?: number;
  readonly message: string;
}

/** What `run.json` says of a run; every field may be missing. */
export interface RunSummary {
  readonly status?: string;
  readonly backend?: string;
  readonly name?: string;
  readonly started?: string;
  readonly ended?: string;
  readonly imagesPerSecond?: number;
  /** The whole file, for the fields this package does not know. */
  readonly raw: Record<string, unknown>;
}

/** Everything a run directory holds that a report shows. */
export interface RunData {
  readonly dir: string;
  readonly metricsPath: string;
  readonly metrics: readonly MetricRow[];
  readonly experiment?: Record<string, unknown>;
  readonly run?: RunSummary;
  readonly samples: readonly SampleFile[];
  /** Grids of the EMA generator (`samples/ema-NNNN.png`, the ema-generator callback). */
  readonly emaSamples: readonly SampleFile[];
  readonly memorisationPath?: string;
  readonly findings: readonly Finding[];
}

/** A sample grid's file name: `<kind>-NNNN.png`, the kind saying which generator drew it (`epoch`: the trained one, `ema`: its average). */
const SAMPLE_FILE = /^(epoch|ema)-(\d+)\.(png|jpe?g|webp)$/i;

/**
 * Reads a run directory. `metrics.jsonl` must be there (a `UserInputError`
 * naming it otherwise); every other file is optional.
 */
export async function readRun(dir: string): Promise<RunData> {
  const metricsPath = join(dir, 'metrics.jsonl');
  const metricObjects = await readOptionalJsonl(metricsPath);
  if (metricObjects === undefined) {
    throw new UserInputError(`${dir} is not a run directory: ${metricsPath} not found`);
  }
  const metrics = metricObjects.map((object, index) => toMetricRow(object, metricsPath, index));
  metrics.sort((a, b) => a.epoch - b.epoch);

  const experimentPath = join(dir, 'experiment.resolved.json');
  const experimentValue = await readOptionalJson(experimentPath);
  if (experimentValue !== undefined && asRecord(experimentValue) === undefined) {
    throw new UserInputError(`${experimentPath}: expected a JSON object`);
  }

  const runPath = join(dir, 'run.json');
  const runValue = await readOptionalJson(runPath);
  if (runValue !== undefined && asRecord(runValue) === undefined) {
    throw new UserInputError(`${runPath}: expected a JSON object`);
  }

  const diagnosticsPath = join(dir, 'diagnostics.jsonl');
  const findings = ((await readOptionalJsonl(diagnosticsPath)) ?? []).map(toFinding);

  const memorisationPath = join(dir, 'memorisation.png');
  const samples = await listSamples(join(dir, 'samples'));
  return {
    dir,
    metricsPath,
    metrics,
    experiment: asRecord(experimentValue),
    run: runValue === undefined ? undefined : toRunSummary(asRecord(runValue)!),
    samples: samples.epoch,
    emaSamples: samples.ema,
    memorisationPath: (await isFile(memorisationPath)) ? memorisationPath : undefined,
    findings,
  };
}

/** The name a report shows for a run: run.json's, the experiment's, or the folder's. */
export function runName(run: RunData): string {
  return run.run?.name ?? asString(run.experiment?.name) ?? basename(run.dir);
}

/** The backend a run used: run.json's, or the experiment's `backend.type`. */
export function runBackend(run: RunData): string | undefined {
  return run.run?.backend ?? asString(asRecord(run.experiment?.backend)?.type) ?? asString(run.experiment?.backend);
}

/** Images per second: run.json's figure, or the mean of the epochs' figures. */
export function runImagesPerSecond(run: RunData): number | undefined {
  if (run.run?.imagesPerSecond !== undefined) return run.run.imagesPerSecond;
  const figures = run.metrics.map((row) => row.values.images_per_s).filter((v): v is number => v !== undefined);
  return figures.length === 0 ? undefined : figures.reduce((a, b) => a + b, 0) / figures.length;
}

function toMetricRow(object: Record<string, unknown>, path: string, index: number): MetricRow {
  const epoch = asNumber(object.epoch);
  if (epoch === undefined) {
    throw new UserInputError(`${path}: record ${index + 1} has no numeric "epoch" (got ${JSON.stringify(object.epoch)})`);
  }
  const values: Record<string, number> = {};
  for (const [key, value] of Object.entries(object)) {
    // Non-finite or non-numeric figures (NaN written as null, a metric not computed this epoch) are gaps.
    const number = asNumber(value);
    if (number !== undefined) values[key] = number;
  }
  return { epoch, values };
}

function toFinding(object: Record<string, unknown>): Finding {
  return {
    kind: asString(object.kind) ?? 'finding',
    epoch: asNumber(object.epoch),
    message: typeof object.message === 'string' ? object.message : JSON.stringify(object),
  };
}

function toRunSummary(raw: Record<string, unknown>): RunSummary {
  return {
    status: asString(raw.status),
    backend: asString(raw.backend),
    name: asString(raw.name),
    started: asString(raw.started) ?? (typeof raw.started === 'number' ? new Date(raw.started).toISOString() : undefined),
    ended: asString(raw.ended) ?? (typeof raw.ended === 'number' ? new Date(raw.ended).toISOString() : undefined),
    imagesPerSecond: asNumber(raw.images_per_s),
    raw,
  };
}

/** The sample grids of a run, each kind by epoch, from one read of the folder. */
async function listSamples(dir: string): Promise<{ epoch: SampleFile[]; ema: SampleFile[] }> {
  const found = { epoch: [] as SampleFile[], ema: [] as SampleFile[] };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    const match = SAMPLE_FILE.exec(name);
    if (match) found[match[1]!.toLowerCase() as 'epoch' | 'ema'].push({ epoch: Number(match[2]), path: join(dir, name) });
  }
  for (const list of Object.values(found)) list.sort((a, b) => a.epoch - b.epoch);
  return found;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
