import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RunInfo } from '@duel/core';
import { MlflowTracker, type MlflowTrackerOptions } from './mlflow-tracker';
import { readCursor, readQueueFile, trackingPaths, type QueueRecord } from './queue-file';
import { readRunState } from './run-state';
import { syncRun } from './sync';
import { FakeMlflow } from './testing/fake-mlflow';

const experiment = { name: 'unit', seed: 42, trainer: { epochs: 3, batchSize: 8 }, loss: { type: 'bce-label-noise', options: { noise: 0.1 } } };

describe('MlflowTracker (mocked server)', () => {
  let fake: FakeMlflow;
  let runDir: string;
  let logs: string[];
  let acked: QueueRecord[];
  const info = (): RunInfo => ({ name: 'unit-run', runDir, experiment, tags: { 'duel.backend': 'cpu' } });
  const make = (extra: Partial<MlflowTrackerOptions> = {}) =>
    new MlflowTracker({
      uri: fake.origin,
      dispatcher: fake.agent,
      maxRetryDelayMs: 20,
      lingerMs: 0,
      flushTimeoutMs: 5000,
      log: (l) => logs.push(l),
      onAck: (r) => acked.push(r),
      ...extra,
    });
  const onlyRun = () => {
    expect(fake.runs.size).toBe(1);
    return [...fake.runs.values()][0]!;
  };

  beforeEach(() => {
    fake = new FakeMlflow();
    runDir = mkdtempSync(join(tmpdir(), 'duel-tracker-'));
    logs = [];
    acked = [];
  });
  afterEach(async () => {
    await fake.close();
    rmSync(runDir, { recursive: true, force: true });
  });

  it('sends params, metrics, tags and the final status', async () => {
    const t = make();
    await t.start(info());
    for (let step = 1; step <= 5; step++) t.logMetrics(step, { d_loss: step / 10, g_loss: step }, 1000 + step);
    t.setTags({ phase: 'done' });
    await t.end('FINISHED');
    const run = onlyRun();
    expect(t.runId).toBe(run.info.run_id);
    expect(Object.fromEntries(run.params)).toMatchObject({ name: 'unit', seed: '42', 'trainer.epochs': '3', 'loss.options.noise': '0.1' });
    expect(run.metrics.filter((m) => m.key === 'g_loss').map((m) => [m.step, m.value, m.timestamp])).toEqual([1, 2, 3, 4, 5].map((s) => [s, s, 1000 + s]));
    expect(run.tags.get('phase')).toBe('done');
    expect(run.tags.get('mlflow.runName')).toBe('unit-run');
    expect(run.tags.get('duel.backend')).toBe('cpu');
    expect(run.tags.get('mlflow.user')).toBeTruthy();
    expect(run.info.status).toBe('FINISHED');
    expect(t.endResult).toMatchObject({ synced: true, pending: 0 });
    expect(readRunState(runDir)?.synced).toBe(true);
  });

  it('tags the error of a failed run', async () => {
    const t = make();
    await t.start(info());
    await t.end('FAILED', new RangeError('loss is NaN'));
    const run = onlyRun();
    expect(run.info.status).toBe('FAILED');
    expect(run.tags.get('duel.error')).toBe('RangeError: loss is NaN');
  });

  it("puts a trial in its parent run's experiment, unless it names one", async () => {
    const parent = make();
    await parent.start({ name: 'sweep', runDir, experiment: { name: 'the-sweep' } });
    const childDir = mkdtempSync(join(tmpdir(), 'duel-tracker-'));
    const namedDir = mkdtempSync(join(tmpdir(), 'duel-tracker-'));
    try {
      const child = make();
      await child.start({ ...info(), runDir: childDir, parentRunId: parent.runId! });
      expect(logs).toContain(`mlflow: run ${child.runId} in experiment 'the-sweep' (${parent.experimentId}) at ${fake.origin}`);
      const named = make({ experimentName: 'elsewhere' });
      await named.start({ ...info(), runDir: namedDir, parentRunId: parent.runId! });
      await Promise.all([child.end('FINISHED'), named.end('FINISHED'), parent.end('FINISHED')]);
      expect(fake.runs.get(child.runId!)?.info.experiment_id).toBe(parent.experimentId);
      expect(fake.runs.get(child.runId!)?.tags.get('mlflow.parentRunId')).toBe(parent.runId);
      expect(fake.experiments.has('unit')).toBe(false);
      expect(fake.runs.get(named.runId!)?.info.experiment_id).toBe(fake.experiments.get('elsewhere'));
    } finally {
      rmSync(childDir, { recursive: true, force: true });
      rmSync(namedDir, { recursive: true, force: true });
    }
  });

  it('keeps every metric through 503s and refused connections, in order', async () => {
    const t = make();
    await t.start(info());
    fake.fail(3, { statusCode: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'x' } }, 'log-batch');
    fake.fail(3, 'refuse', 'log-batch');
    for (let step = 0; step < 50; step++) t.logMetrics(step, { d_loss: step }, step);
    await t.end('FINISHED');
    const steps = onlyRun().metrics.map((m) => m.step);
    expect(steps).toEqual([...Array(50).keys()]);
    const ids = acked.map((r) => r.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('never blocks logMetrics while the server is down, and the queue grows on disk', async () => {
    const t = make();
    await t.start(info());
    fake.down = true;
    const durations: number[] = [];
    for (let step = 0; step < 2000; step++) {
      const before = performance.now();
      t.logMetrics(step, { d_loss: step, g_loss: -step, d_acc: 0.5 });
      durations.push(performance.now() - before);
    }
    durations.sort((a, b) => a - b);
    await new Promise((r) => setTimeout(r, 100));
    const paths = trackingPaths(runDir);
    const onDisk = readQueueFile(paths.queue).records.filter((r) => r.t === 'metrics');
    expect(onDisk).toHaveLength(2000);
    expect(t.pendingCount).toBeGreaterThanOrEqual(2000);
    // A call that waited on the network would take a retry delay or a connect
    // timeout (hundreds of ms to seconds); a shared CPU or a GC pause explains the rest.
    expect(durations[Math.floor(durations.length * 0.99)]!).toBeLessThan(10);
    expect(durations.at(-1)!).toBeLessThan(500);
    fake.down = false;
    await t.end('FINISHED');
    expect(onlyRun().metrics).toHaveLength(6000);
    expect(readCursor(paths.cursor)).toBe(readQueueFile(paths.queue).records.at(-1)!.id);
  });

  it('splits an oversized step into requests within the limits', async () => {
    const t = make();
    await t.start(info());
    const wide = Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`feature_${i}`, i]));
    t.logMetrics(0, wide);
    await t.end('FINISHED');
    const batches = fake.calls('runs/log-batch').map((r) => r.body as { metrics?: unknown[] });
    expect(Math.max(...batches.map((b) => b.metrics?.length ?? 0))).toBeLessThanOrEqual(1000);
    expect(Math.max(...fake.calls('runs/log-batch').map((r) => r.bytes))).toBeLessThan(1_000_000);
    expect(onlyRun().metrics).toHaveLength(2500);
  });

  it('shortens params over 6000 chars with a marker instead of losing the run', async () => {
    const t = make();
    await t.start({ ...info(), experiment: { ...experiment, description: 'd'.repeat(10_000) } });
    await t.end('FINISHED');
    const value = onlyRun().params.get('description')!;
    expect(value).toHaveLength(6000);
    expect(value).toMatch(/\.\.\.\[truncated: 10000 chars\]$/);
  });

  it('sets aside a record the server refuses and sends the rest', async () => {
    fake.rules.push((req) =>
      req.path.includes('log-batch') && JSON.stringify(req.body).includes('"poison"') ? { statusCode: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'refused' } } : undefined,
    );
    const t = make();
    await t.start(info());
    fake.down = true; // let records pile up so they travel in one request
    t.logMetrics(1, { ok: 1 });
    t.logMetrics(2, { poison: 2 });
    t.logMetrics(3, { ok: 3 });
    fake.down = false;
    await t.end('FINISHED');
    const run = onlyRun();
    expect(run.metrics.map((m) => [m.key, m.step])).toEqual([
      ['ok', 1],
      ['ok', 3],
    ]);
    expect(run.info.status).toBe('FINISHED');
    const rejected = readFileSync(trackingPaths(runDir).rejected, 'utf8').trim().split('\n');
    expect(rejected).toHaveLength(1);
    expect(rejected[0]).toContain('poison');
  });

  it('does not create a second run when the answer to runs/create is lost', async () => {
    fake.faults.push((req) => {
      if (!req.path.includes('runs/create')) return undefined;
      fake.handle(req); // the server creates the run...
      return { statusCode: 502, body: 'bad gateway' }; // ...but the answer is lost
    });
    const t = make();
    await t.start(info());
    t.logMetrics(1, { a: 1 });
    await t.end('FINISHED');
    expect(onlyRun().metrics).toHaveLength(1);
  });

  it('goes on offline when the server is down at start, and creates the run later', async () => {
    fake.down = true;
    const t = make({ startTimeoutMs: 200 });
    const started = Date.now();
    await t.start(info());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(t.runId).toBeUndefined();
    t.logMetrics(1, { a: 1 });
    fake.down = false;
    await t.end('FINISHED');
    const run = onlyRun();
    expect(t.runId).toBe(run.info.run_id);
    expect(run.metrics).toHaveLength(1);
    expect(run.info.status).toBe('FINISHED');
  });

  it('leaves the queue on disk when end() times out, and syncRun sends it', async () => {
    const t = make({ flushTimeoutMs: 300 });
    await t.start(info());
    fake.down = true;
    for (let step = 0; step < 20; step++) t.logMetrics(step, { d_loss: step });
    await t.end('FINISHED');
    expect(t.endResult?.synced).toBe(false);
    expect(t.endResult?.pending).toBe(21); // 20 steps and the status
    expect(logs.join('\n')).toContain(`pnpm duel sync ${runDir}`);
    expect(readRunState(runDir)).toMatchObject({ synced: false, status: 'FINISHED' });
    expect(onlyRun().info.status).toBe('RUNNING');

    fake.down = false;
    acked = [];
    const result = await syncRun(runDir, { dispatcher: fake.agent, log: (l) => logs.push(l), maxRetryDelayMs: 20, onAck: (r) => acked.push(r) });
    expect(result).toMatchObject({ synced: true, sent: 21, pending: 0, rejected: 0, runId: t.runId });
    expect(onlyRun().metrics.map((m) => m.step)).toEqual([...Array(20).keys()]);
    expect(onlyRun().info.status).toBe('FINISHED');
    expect((await syncRun(runDir, { dispatcher: fake.agent, log: () => undefined })).sent).toBe(0);
  });

  it('continues the same MLflow run when a run directory is started again (resume)', async () => {
    const first = make({ flushTimeoutMs: 200 });
    await first.start(info());
    fake.down = true;
    first.logMetrics(1, { a: 1 });
    await first.end('KILLED');
    expect(first.endResult?.synced).toBe(false);
    fake.down = false;

    const second = make();
    await second.start(info());
    expect(second.runId).toBe(first.runId);
    second.logMetrics(2, { a: 2 });
    await second.end('FINISHED');
    const run = onlyRun();
    expect(run.metrics.map((m) => m.step)).toEqual([1, 2]);
    expect(run.info.status).toBe('FINISHED');
    expect(fake.calls('runs/update').map((r) => (r.body as { status: string }).status)).toEqual(['KILLED', 'RUNNING', 'FINISHED']);
  });

  it('skips checkpoints unless asked, and uploads a folder file by file', async () => {
    mkdirSync(join(runDir, 'checkpoints'));
    writeFileSync(join(runDir, 'checkpoints', 'step-10.bin'), 'x');
    mkdirSync(join(runDir, 'generator'));
    writeFileSync(join(runDir, 'generator', 'model.json'), '{}');
    writeFileSync(join(runDir, 'generator', 'weights.bin'), 'w');
    const t = make();
    await t.start(info());
    t.logArtifact(join(runDir, 'checkpoints', 'step-10.bin'), 'checkpoints/step-10.bin');
    t.logArtifact(join(runDir, 'generator'), 'generator');
    t.logArtifact(join(runDir, 'missing.png'), 'samples/missing.png');
    await t.end('FINISHED');
    const root = `1/${t.runId}/artifacts`;
    expect(fake.uploads.sort()).toEqual([`${root}/generator/model.json`, `${root}/generator/weights.bin`]);
    expect(existsSync(trackingPaths(runDir).rejected)).toBe(true); // the missing file, set aside with its reason
    expect(readFileSync(trackingPaths(runDir).rejected, 'utf8')).toContain('missing.png');
  });

  it('turns a refusal at start (403, not MLflow) into a UserInputError and frees the run directory', async () => {
    fake.fail(1, { statusCode: 403, body: 'forbidden' }, 'experiments/get-by-name');
    const t = make();
    await expect(t.start(info())).rejects.toThrow(/refused to start the run: .*HTTP 403/);
    await t.end('FAILED'); // harmless after a failed start
    const again = make();
    await again.start(info());
    await again.end('FINISHED');
    expect(onlyRun().info.status).toBe('FINISHED');
    expect(Object.keys(Object.fromEntries(onlyRun().params))).toContain('trainer.epochs');
  });

  it('refuses a second live tracker on the same run directory', async () => {
    const t = make();
    await t.start(info());
    await expect(make().start(info())).rejects.toThrow(/in use by process/);
    await expect(syncRun(runDir, { dispatcher: fake.agent })).rejects.toThrow(/in use by process/);
    await t.end('FINISHED');
  });
});
