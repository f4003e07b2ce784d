/**
 * `duel train` and `duel sweep` as a user runs them, tracked on the real MLflow
 * server of test/setup/mlflow.ts, then read back through MLflow's REST API:
 * what the run directory holds is what MLflow holds.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { flattenParams, MlflowClient, type MlflowRun } from '../packages/tracking/src/index';
import { cliCommand, duel, type CliResult } from './support/cli';
import { readJsonLines, tempDir, tinySet } from './support/runs';
import { downloadRunArtifact, listAllArtifacts, runData } from './tracking-helpers';

const uri = inject('mlflowUri');
const experimentFile = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
/** Both trackers, as a user would write them on the command line (parsed as YAML by --set). */
const tracking = `tracking=[{type: local}, {type: mlflow, options: {uri: "${uri}"}}]`;
const stamp = Date.now().toString(36);
const sets = (assignments: string[]) => assignments.flatMap((s) => ['--set', s]);
const EPOCH_METRICS = ['d_loss', 'g_loss', 'd_real_acc', 'd_fake_acc', 'd_acc', 'g_acc', 'images_per_s'];

/** The one run MLflow holds in the experiment of that name. */
async function onlyRun(client: MlflowClient, experimentName: string): Promise<MlflowRun> {
  const experimentId = await client.getExperimentIdByName(experimentName);
  expect(experimentId, `MLflow experiment '${experimentName}'`).toBeDefined();
  const runs = await client.searchRuns([experimentId!], '');
  expect(runs).toHaveLength(1);
  return runs[0]!;
}

/**
 * The CLI in its own process group; once `ready(stderr)` says so, SIGINT to the
 * whole group, as Ctrl-C in a terminal does (a sweep's trials get it too).
 */
function runThenInterrupt(args: string[], ready: (stderr: string) => boolean): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    let signalled = false;
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        // The group is gone already.
      }
    };
    const poll = setInterval(() => {
      if (signalled || !ready(stderr)) return;
      signalled = true;
      signalGroup('SIGINT');
    }, 200);
    const timer = setTimeout(() => signalGroup('SIGKILL'), 150_000);
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(poll);
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A 2-trial grid over the label noise, one seed, tracked on the server. */
function writeSweep(dir: string, name: string, set: string[]): string {
  const file = join(dir, `${name}.yaml`);
  const lines = [`name: ${name}`, `base: ${JSON.stringify(experimentFile)}`, 'grid:', '  loss.options.noise: [0, 0.2]', 'seeds: [1]', 'set:', ...[...set, tracking].map((s) => `  - ${JSON.stringify(s)}`), 'sortBy: d_loss'];
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

describe('duel train and duel sweep tracked on a real MLflow server', () => {
  let client: MlflowClient;
  const root = tempDir('duel-cli-mlflow-');
  const jobs = ['finished', 'failed', 'killed', 'sweep', 'sweepKilled'] as const;
  type Job = (typeof jobs)[number];
  const names = Object.fromEntries(jobs.map((job) => [job, `cli-${job}-${stamp}`])) as Record<Job, string>;
  const dirs = Object.fromEntries(jobs.map((job) => [job, join(root, job)])) as Record<Job, string>;
  const results: Partial<Record<Job, CliResult>> = {};
  const seconds: Partial<Record<Job, number>> = {};

  beforeAll(async () => {
    client = new MlflowClient({ uri });
    const sweepFile = writeSweep(root, names.sweep, ['trainer.epochs=1', 'data.options.limit=96', 'data.options.imageSize=32', 'trainer.batchSize=32']);
    const longSweepFile = writeSweep(root, names.sweepKilled, [...tinySet, 'trainer.epochs=50']);
    const firstTrialMetrics = join(dirs.sweepKilled, 'trials', 't001-0-s1', 'metrics.jsonl');
    const timed = async (job: Job, run: () => Promise<CliResult>) => {
      const t0 = performance.now();
      results[job] = await run();
      seconds[job] = (performance.now() - t0) / 1000;
    };
    // All at once: each is mostly process start-up and waiting on the server.
    await Promise.all([
      timed('finished', () => duel(['train', experimentFile, '--out', dirs.finished, ...sets([...tinySet, 'trainer.epochs=2', `name=${names.finished}`, tracking])])),
      // No batch of 100000 from 192 images: the trainer refuses before its first step.
      timed('failed', () => duel(['train', experimentFile, '--out', dirs.failed, ...sets([...tinySet, 'trainer.epochs=2', 'trainer.batchSize=100000', `name=${names.failed}`, tracking])])),
      timed('killed', () => runThenInterrupt(['train', experimentFile, '--out', dirs.killed, ...sets([...tinySet, 'trainer.epochs=50', `name=${names.killed}`, tracking])], (stderr) => /^epoch +1\/50 /m.test(stderr))),
      timed('sweep', () => duel(['sweep', sweepFile, '--out', dirs.sweep, '--parallel', '2'])),
      // One trial at a time; Ctrl-C once the first has an epoch done: it ends KILLED and the second never starts.
      timed('sweepKilled', () => runThenInterrupt(['sweep', longSweepFile, '--out', dirs.sweepKilled], () => readJsonLines(firstTrialMetrics).length > 0)),
    ]);
    console.info(`cli-mlflow: seconds per command (run together): ${JSON.stringify(Object.fromEntries(Object.entries(seconds).map(([k, v]) => [k, Number(v.toFixed(1))])))}`);
  }, 240_000);

  afterAll(async () => {
    await client?.close();
  });

  it('a finished run: every param, every metric at every epoch, every artifact byte for byte, status and tags', async () => {
    const result = results.finished!;
    expect(result.code, result.stderr).toBe(0);
    const run = await onlyRun(client, names.finished);
    const runId = run.info.run_id;
    expect(result.stderr).toContain(`mlflow: run ${runId} FINISHED`);
    const { info, params, tags } = await runData(client, runId);

    // Params: the resolved experiment the run wrote, flattened, nothing more and nothing less.
    const resolved = JSON.parse(readFileSync(join(dirs.finished, 'experiment.resolved.json'), 'utf8')) as Record<string, unknown>;
    const expected = flattenParams(resolved);
    expect(Object.keys(params).sort()).toEqual(Object.keys(expected).sort());
    for (const [key, value] of Object.entries(expected)) expect(params[key], key).toBe(value);
    expect(params['trainer.epochs']).toBe('2');
    expect(params['tracking.1.type']).toBe('mlflow');
    expect(params['tracking.1.options.uri']).toBe(uri);

    // Metrics: each key of metrics.jsonl at each epoch, with its exact value.
    const rows = readJsonLines(join(dirs.finished, 'metrics.jsonl'));
    expect(rows.map((r) => r['epoch'])).toEqual([1, 2]);
    const keys = Object.keys(rows[0]!);
    for (const key of EPOCH_METRICS) expect(keys).toContain(key);
    for (const key of keys) {
      const history = (await client.getMetricHistory(runId, key)).sort((a, b) => a.step - b.step);
      expect(history.map((m) => m.step), key).toEqual([1, 2]);
      history.forEach((m, i) => expect(m.value, `${key} at epoch ${i + 1}`).toBe(rows[i]![key]));
    }

    // Artifacts: exactly these files, byte for byte (checkpoints stay local).
    const files = ['experiment.resolved.json', 'generator/model.json', 'generator/weights.bin', 'memorisation.png', 'samples/epoch-0001.png', 'samples/epoch-0002.png'];
    expect((await listAllArtifacts(client, runId)).map((f) => f.path).sort()).toEqual(files);
    for (const path of files) expect((await downloadRunArtifact(client, runId, path)).equals(readFileSync(join(dirs.finished, path))), path).toBe(true);

    expect(info.status).toBe('FINISHED');
    expect(info.end_time).toBeGreaterThanOrEqual(info.start_time!);
    expect(tags['mlflow.runName']).toBe(names.finished);
    const runJson = JSON.parse(readFileSync(join(dirs.finished, 'run.json'), 'utf8')) as { backend: string; status: string };
    expect(runJson.status).toBe('FINISHED');
    expect(tags['duel.backend']).toBe(runJson.backend);
    expect(tags['duel.backend']).toBe('tensorflow');
    expect(tags['duel.run_dir']).toBe(dirs.finished);
    expect(tags['mlflow.parentRunId']).toBeUndefined();
  });

  it('a run that cannot make a batch exits 2 naming trainer.batchSize, and ends FAILED with the error as a tag', async () => {
    const result = results.failed!;
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toMatch(/^error: .*192 images make no batch of 100000.*trainer\.batchSize/m);
    expect(result.stderr).not.toMatch(/^\s+at /m); // a message, not a stack trace
    const run = await onlyRun(client, names.failed);
    const { info, tags } = await runData(client, run.info.run_id);
    expect(info.status).toBe('FAILED');
    expect(info.end_time).toBeGreaterThan(0);
    expect(tags['duel.error']).toMatch(/^UserInputError: .*trainer\.batchSize/);
    expect(await client.getMetricHistory(run.info.run_id, 'd_loss')).toEqual([]);
    expect(JSON.parse(readFileSync(join(dirs.failed, 'run.json'), 'utf8'))).toMatchObject({ status: 'FAILED' });
  });

  it('SIGINT during training exits 130 and ends the MLflow run KILLED, with the epochs done', async () => {
    const result = results.killed!;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stderr).toContain('interrupt received');
    const run = await onlyRun(client, names.killed);
    const { info } = await runData(client, run.info.run_id);
    expect(info.status).toBe('KILLED');
    expect(info.end_time).toBeGreaterThan(0);
    const epochs = readJsonLines(join(dirs.killed, 'metrics.jsonl')).map((r) => r['epoch']);
    expect(epochs.length).toBeGreaterThanOrEqual(1);
    expect(epochs.length).toBeLessThan(50);
    expect((await client.getMetricHistory(run.info.run_id, 'g_loss')).map((m) => m.step).sort((a, b) => a - b)).toEqual(epochs);
    expect(JSON.parse(readFileSync(join(dirs.killed, 'run.json'), 'utf8'))).toMatchObject({ status: 'KILLED' });
  });

  it('a sweep is a parent run with its trials as child runs, in one MLflow experiment, the varied setting as a param', async () => {
    const result = results.sweep!;
    expect(result.code, result.stderr).toBe(0);
    const experimentId = await client.getExperimentIdByName(names.sweep);
    expect(experimentId, `MLflow experiment '${names.sweep}'`).toBeDefined();
    const parents = await client.searchRuns([experimentId!], "tags.`duel.sweep.role` = 'parent'");
    expect(parents).toHaveLength(1);
    const parentId = parents[0]!.info.run_id;
    const parent = await runData(client, parentId);
    expect(parent.info.status).toBe('FINISHED');
    expect(parent.tags['mlflow.runName']).toBe(names.sweep);
    expect(parent.params['grid.loss.options.noise']).toBe('[0,0.2]');
    expect((await listAllArtifacts(client, parentId)).map((f) => f.path).sort()).toEqual(['results.csv', 'results.md']);
    expect((await downloadRunArtifact(client, parentId, 'results.csv')).equals(readFileSync(join(dirs.sweep, 'results.csv')))).toBe(true);

    // The children sit in the parent's experiment (where the MLflow UI nests them) and point at it.
    const children = await client.searchRuns([experimentId!], `tags.\`mlflow.parentRunId\` = '${parentId}'`);
    const trials = readJsonLines<{ id: string; settings: Record<string, unknown>; runDir: string; status: string }>(join(dirs.sweep, 'trials.jsonl'));
    expect(trials.map((t) => t.status)).toEqual(['FINISHED', 'FINISHED']);
    expect(children).toHaveLength(2);
    const byTrial = new Map<string, Awaited<ReturnType<typeof runData>>>();
    for (const child of children) {
      const data = await runData(client, child.info.run_id);
      byTrial.set(data.tags['duel.sweep.trial']!, data);
    }
    for (const trial of trials) {
      const child = byTrial.get(trial.id);
      expect(child, trial.id).toBeDefined();
      expect(child!.tags['mlflow.parentRunId']).toBe(parentId);
      expect(child!.tags['duel.sweep.role']).toBe('trial');
      expect(child!.tags['mlflow.runName']).toBe(`${names.sweep}/${trial.id}`);
      expect(child!.tags['duel.run_dir']).toBe(trial.runDir);
      expect(child!.params['loss.options.noise']).toBe(String(trial.settings['loss.options.noise']));
      expect(child!.params['seed']).toBe('1');
      expect(child!.info.status).toBe('FINISHED');
      const rows = readJsonLines(join(trial.runDir, 'metrics.jsonl'));
      expect((await client.getMetricHistory(child!.info.run_id, 'd_loss')).map((m) => m.value)).toEqual(rows.map((r) => r['d_loss']));
    }
    expect([...byTrial.values()].map((c) => c.params['loss.options.noise']).sort()).toEqual(['0', '0.2']);
  });

  it('Ctrl-C during a sweep exits 130 and ends the parent run and the running trial KILLED', async () => {
    const result = results.sweepKilled!;
    expect(result.code, result.stderr).toBe(130);
    const experimentId = await client.getExperimentIdByName(names.sweepKilled);
    expect(experimentId).toBeDefined();
    const parents = await client.searchRuns([experimentId!], "tags.`duel.sweep.role` = 'parent'");
    expect(parents).toHaveLength(1);
    expect(parents[0]!.info.status).toBe('KILLED');
    const children = await client.searchRuns([experimentId!], `tags.\`mlflow.parentRunId\` = '${parents[0]!.info.run_id}'`);
    expect(children.map((c) => [c.info.status, c.data.tags?.find((t) => t.key === 'duel.sweep.trial')?.value])).toEqual([['KILLED', 't001-0-s1']]);
    expect(readJsonLines<{ id: string; status: string }>(join(dirs.sweepKilled, 'trials.jsonl')).map((t) => [t.id, t.status])).toEqual([['t001-0-s1', 'KILLED']]);
    // Interrupted, not lost: the trial wrote a checkpoint for `duel sweep --resume`.
    expect(readFileSync(join(dirs.sweepKilled, 'trials', 't001-0-s1', 'trial.log'), 'utf8')).toContain('checkpoint written');
  });
});
