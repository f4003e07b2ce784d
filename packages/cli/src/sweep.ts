import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { mulberry32, settingLabel, UserInputError, writeFileAtomic, zodIssues, type Tracker } from '@duel/core';
import { startParentRun, type ParentRun } from '@duel/tracking';
import { loadExperiment } from './assemble';

// Any YAML value: numbers and names, and also lists and parts, so a sweep can swap a
// whole part (`loss: [{type: hinge}, ...]`) or a list of them (`augment: [[], ...]`).
const valueList = z.array(z.unknown()).min(1);
const distribution = z.union([
  z.object({ choice: valueList }).strict(),
  z.object({ uniform: z.tuple([z.number(), z.number()]) }).strict(),
  z.object({ logUniform: z.tuple([z.number().positive(), z.number().positive()]) }).strict(),
  z.object({ intUniform: z.tuple([z.number().int(), z.number().int()]) }).strict(),
]);

/** A sweep file: a base experiment and the settings to vary. */
export const sweepSchema = z
  .object({
    name: z.string().min(1).optional(),
    /** The experiment every trial starts from (relative to the sweep file). */
    base: z.string().min(1),
    /** `grid`: every combination; `random`: `trials` draws from the distributions. @default 'grid' */
    method: z.enum(['grid', 'random']).default('grid'),
    /** Grid: path -> list of values. */
    grid: z.record(z.string(), valueList).default({}),
    /** Random: path -> distribution. */
    random: z.record(z.string(), distribution).default({}),
    /** Random search: how many settings to draw. @default 10 */
    trials: z.number().int().positive().default(10),
    /** Each setting runs once per seed (replicates). @default [42] */
    seeds: z.array(z.number().int().nonnegative()).min(1).default([42]),
    /** Cap on the number of trials. */
    maxTrials: z.number().int().positive().optional(),
    /** Overrides applied to every trial (`path=value`). */
    set: z.array(z.string()).default([]),
    /** Metric the results table is sorted by, and whether smaller is better. */
    sortBy: z.string().default('g_loss'),
    sortOrder: z.enum(['asc', 'desc']).default('asc'),
  })
  .strict();
export type SweepFile = z.output<typeof sweepSchema>;

export interface Trial {
  id: string;
  settings: Record<string, unknown>;
  seed: number;
}

/** Reads and checks a sweep file, and its base experiment, before anything runs. */
export async function loadSweep(file: string): Promise<{ sweep: SweepFile; baseFile: string; path: string; trackerParts: Awaited<ReturnType<typeof loadExperiment>>['resolved']['parts']['trackers'] }> {
  const path = resolve(file);
  if (!existsSync(path)) throw new UserInputError(`Sweep file not found: ${path}`);
  let doc: unknown;
  try {
    doc = path.endsWith('.json') ? JSON.parse(readFileSync(path, 'utf8')) : parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new UserInputError(`${path}: not valid YAML/JSON: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
  }
  const parsed = sweepSchema.safeParse(doc, { reportInput: true });
  if (!parsed.success) throw new UserInputError(`${path}: the sweep is not valid:`, zodIssues(parsed.error, ''));
  const sweep = parsed.data;
  if (sweep.method === 'grid' && Object.keys(sweep.grid).length === 0) throw new UserInputError(`${path}: grid: expected at least one path to vary`);
  if (sweep.method === 'random' && Object.keys(sweep.random).length === 0) throw new UserInputError(`${path}: random: expected at least one path to draw`);
  const baseFile = resolve(dirname(path), sweep.base);
  const base = await loadExperiment({ file: baseFile, set: sweep.set });
  // Every trial's experiment must validate; one bad value fails the whole sweep before it starts.
  for (const trial of expandTrials(sweep)) {
    try {
      await loadExperiment({ file: baseFile, set: [...sweep.set, ...trialOverrides(trial)] });
    } catch (error) {
      if (error instanceof UserInputError) throw new UserInputError(`${path}: trial ${trial.id} is not a valid experiment:\n${error.message}`);
      throw error;
    }
  }
  return { sweep, baseFile, path, trackerParts: base.resolved.parts.trackers };
}

function slug(value: unknown): string {
  return settingLabel(value).replace(/[^A-Za-z0-9.+-]+/g, '_').slice(0, 32);
}

/** The trials of a sweep, in a stable order, with stable ids. */
export function expandTrials(sweep: SweepFile): Trial[] {
  let settings: Record<string, unknown>[];
  if (sweep.method === 'grid') {
    settings = [{}];
    for (const [path, values] of Object.entries(sweep.grid)) settings = settings.flatMap((s) => values.map((v) => ({ ...s, [path]: v })));
  } else {
    const next = mulberry32(sweep.seeds[0]! ^ 0x5eed);
    settings = Array.from({ length: sweep.trials }, () => {
      const s: Record<string, unknown> = {};
      for (const [path, d] of Object.entries(sweep.random)) {
        if ('choice' in d) s[path] = d.choice[Math.floor(next() * d.choice.length)];
        else if ('uniform' in d) s[path] = d.uniform[0] + next() * (d.uniform[1] - d.uniform[0]);
        else if ('logUniform' in d) s[path] = Math.exp(Math.log(d.logUniform[0]) + next() * (Math.log(d.logUniform[1]) - Math.log(d.logUniform[0])));
        else s[path] = d.intUniform[0] + Math.floor(next() * (d.intUniform[1] - d.intUniform[0] + 1));
      }
      return s;
    });
  }
  const trials = settings.flatMap((s, i) =>
    sweep.seeds.map((seed) => ({
      id: `t${String(i + 1).padStart(3, '0')}-${Object.values(s).map(slug).join('-')}-s${seed}`,
      settings: s,
      seed,
    })),
  );
  return sweep.maxTrials ? trials.slice(0, sweep.maxTrials) : trials;
}

export function trialOverrides(trial: Trial): string[] {
  return [...Object.entries(trial.settings).map(([path, value]) => `${path}=${JSON.stringify(value)}`), `seed=${trial.seed}`];
}

interface TrialRecord {
  id: string;
  settings: Record<string, unknown>;
  seed: number;
  status: string;
  runDir: string;
  metrics: Record<string, number>;
  error?: string;
}

function trialState(runDir: string): { status: string; metrics: Record<string, number>; resumable: boolean } {
  const runJson = join(runDir, 'run.json');
  const metricsPath = join(runDir, 'metrics.jsonl');
  const status = existsSync(runJson) ? ((JSON.parse(readFileSync(runJson, 'utf8')) as { status?: string }).status ?? 'UNKNOWN') : 'PENDING';
  const lines = existsSync(metricsPath) ? readFileSync(metricsPath, 'utf8').split('\n').filter((l) => l.trim()) : [];
  const metrics = lines.length ? (JSON.parse(lines[lines.length - 1]!) as Record<string, number>) : {};
  const resumable = existsSync(join(runDir, 'checkpoints', 'latest.json')) || (existsSync(join(runDir, 'checkpoints')) && readdirSync(join(runDir, 'checkpoints')).some((n) => n.startsWith('step-')));
  return { status, metrics, resumable };
}

const cliMain = resolve(dirname(fileURLToPath(import.meta.url)), 'main.ts');

function runTrialProcess(args: string[], logPath: string): Promise<number> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, [...process.execArgv, cliMain, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    const forward = () => child.kill('SIGINT');
    process.once('SIGINT', forward);
    child.on('close', (code) => {
      process.off('SIGINT', forward);
      mkdirSync(dirname(logPath), { recursive: true });
      writeFileAtomic(logPath, Buffer.concat(chunks));
      resolvePromise(code ?? 1);
    });
  });
}

export interface SweepRequest {
  file?: string;
  /** Sweep directory. @default sweeps/<name>-<time> */
  out?: string;
  /** Continue a sweep: finished trials are kept, the rest run (interrupted ones from their checkpoints). */
  resume?: string;
  parallel?: number;
  dryRun?: boolean;
  sortBy?: string;
  log?: (line: string) => void;
}

/**
 * Runs a sweep: each trial in its own process (isolated memory, a crash costs
 * one trial), `parallel` at a time, recorded in `trials.jsonl` so a resumed
 * sweep runs only what is missing; then the results table.
 */
export async function runSweep(request: SweepRequest): Promise<{ dir: string; records: TrialRecord[]; trials: Trial[] }> {
  const log = request.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let sweepFile = request.file;
  let dir = request.out ? resolve(request.out) : undefined;
  if (request.resume) {
    dir = resolve(request.resume);
    const meta = join(dir, 'sweep.json');
    if (!existsSync(meta)) throw new UserInputError(`--resume ${request.resume}: not a sweep directory (no sweep.json)`);
    sweepFile ??= (JSON.parse(readFileSync(meta, 'utf8')) as { file: string }).file;
  }
  if (!sweepFile) throw new UserInputError('sweep: expected a sweep file');
  const { sweep, baseFile, path, trackerParts } = await loadSweep(sweepFile);
  const trials = expandTrials(sweep);
  if (request.dryRun) return { dir: dir ?? '', records: [], trials };
  const name = sweep.name ?? 'sweep';
  dir ??= resolve('sweeps', `${name}-${new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19)}`);
  mkdirSync(join(dir, 'trials'), { recursive: true });
  writeFileAtomic(join(dir, 'sweep.json'), JSON.stringify({ name, file: path, base: baseFile, sweep, trials: trials.map((t) => t.id) }, null, 2));

  // The sweep is a parent run in the trackers the base experiment names; trials are its children.
  const parentTrackers: Tracker[] = [];
  for (const part of trackerParts) parentTrackers.push((await part.plugin.create(part.options, { runDir: dir, log })) as Tracker);
  const parent: ParentRun = await startParentRun({ trackers: parentTrackers, name, sweepDir: dir, sweep: sweep as unknown as Record<string, unknown> });
  const parentArgs = (trial: Trial) => [
    ...(parent.runId ? ['--parent-run-id', parent.runId] : []),
    // In the trackers a trial is named after the sweep and itself, not the base experiment.
    '--run-name', `${name}/${trial.id}`,
    ...Object.entries(parent.childTags(trial)).flatMap(([k, v]) => ['--tag', `${k}=${v}`]),
  ];

  const records = new Map<string, TrialRecord>();
  const pending: Trial[] = [];
  for (const trial of trials) {
    const runDir = join(dir, 'trials', trial.id);
    const state = trialState(runDir);
    if (state.status === 'FINISHED') {
      records.set(trial.id, { ...trial, status: 'FINISHED', runDir, metrics: state.metrics });
      log(`trial ${trial.id}: finished earlier, kept`);
    } else pending.push(trial);
  }
  const parallel = Math.max(1, request.parallel ?? 1);
  let next = 0;
  let interrupted = false;
  const onSigint = () => (interrupted = true);
  process.once('SIGINT', onSigint);
  const worker = async () => {
    while (next < pending.length && !interrupted) {
      const trial = pending[next++]!;
      const runDir = join(dir!, 'trials', trial.id);
      const state = trialState(runDir);
      const args = state.resumable && state.status !== 'FAILED'
        ? ['train', baseFile, '--resume', runDir, ...[...sweep.set, ...trialOverrides(trial)].flatMap((s) => ['--set', s])]
        : ['train', baseFile, '--out', runDir, ...[...sweep.set, ...trialOverrides(trial)].flatMap((s) => ['--set', s])];
      log(`trial ${trial.id}: ${state.resumable && state.status !== 'FAILED' ? 'resuming' : 'starting'} (${Object.entries(trial.settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}, seed ${trial.seed})`);
      const code = await runTrialProcess([...args, ...parentArgs(trial)], join(runDir, 'trial.log'));
      const after = trialState(runDir);
      const status = code === 0 ? after.status : code === 130 || after.status === 'KILLED' ? 'KILLED' : 'FAILED';
      const record: TrialRecord = { ...trial, status, runDir, metrics: after.metrics, ...(code !== 0 && status === 'FAILED' ? { error: `exit code ${code}; see ${join(runDir, 'trial.log')}` } : {}) };
      records.set(trial.id, record);
      writeFileAtomic(join(dir!, 'trials.jsonl'), [...records.values()].map((r) => JSON.stringify(r)).join('\n') + '\n');
      log(`trial ${trial.id}: ${status}${record.metrics['g_loss'] !== undefined ? ` (d_loss ${record.metrics['d_loss']?.toFixed(3)}, g_loss ${record.metrics['g_loss']?.toFixed(3)})` : ''}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, pending.length) }, worker));
  process.off('SIGINT', onSigint);
  const ordered = trials.map((t) => records.get(t.id)).filter((r): r is TrialRecord => r !== undefined);
  writeFileAtomic(join(dir, 'trials.jsonl'), ordered.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeResults(dir, sweep, ordered, request.sortBy ?? sweep.sortBy);
  parent.logArtifact(join(dir, 'results.csv'), 'results.csv');
  parent.logArtifact(join(dir, 'results.md'), 'results.md');
  const allDone = ordered.length === trials.length && ordered.every((r) => r.status === 'FINISHED');
  await parent.end(interrupted ? 'KILLED' : allDone ? 'FINISHED' : 'FAILED');
  return { dir, records: ordered, trials };
}

const BASE_METRICS = ['d_loss', 'g_loss', 'd_acc', 'g_acc', 'images_per_s'];

/** results.csv and results.md: the varied settings, final figures, sorted by a metric. */
export function writeResults(dir: string, sweep: SweepFile, records: TrialRecord[], sortBy: string): void {
  const paths = sweep.method === 'grid' ? Object.keys(sweep.grid) : Object.keys(sweep.random);
  const extra = [...new Set(records.flatMap((r) => Object.keys(r.metrics)))].filter((k) => ['fid', 'kid', 'precision', 'recall', 'diversity'].includes(k));
  const metrics = [...BASE_METRICS, ...extra];
  const sign = sweep.sortOrder === 'desc' ? -1 : 1;
  const sorted = [...records].sort((a, b) => sign * ((a.metrics[sortBy] ?? Infinity) - (b.metrics[sortBy] ?? Infinity)));
  const header = ['trial', ...paths, 'seed', 'status', ...metrics];
  const cell = (v: unknown) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v === undefined ? '' : settingLabel(v));
  const values = sorted.map((r) => [r.id, ...paths.map((p) => r.settings[p]), r.seed, r.status, ...metrics.map((m) => r.metrics[m])]);
  const rows = values.map((row) => row.map(cell));
  // The CSV keeps structured settings whole (JSON), for whoever reads it back.
  const csvRows = values.map((row) => row.map((v) => (v !== null && typeof v === 'object' ? JSON.stringify(v) : cell(v))));
  const csvCell = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  writeFileAtomic(join(dir, 'results.csv'), [header, ...csvRows].map((r) => r.map(csvCell).join(',')).join('\n') + '\n');
  const md = [
    `# ${sweep.name ?? 'sweep'}: ${records.length} trials, sorted by ${sortBy} (${sweep.sortOrder})`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n');
  writeFileAtomic(join(dir, 'results.md'), md);
}
