/**
 * The MLflow tracker against a real MLflow server (started by
 * test/setup/mlflow.ts): what a run sends reads back whole.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { MlflowClient, MlflowTracker, flattenParams, mlflowTracker, startParentRun } from '../packages/tracking/src/index';
import { downloadRunArtifact, listAllArtifacts, runData } from './tracking-helpers';

const uri = inject('mlflowUri');
const METRICS = ['d_loss', 'g_loss', 'd_real_acc', 'd_fake_acc', 'd_acc', 'g_acc', 'images_per_s', 'seconds'];

function experiment(name: string, learningRate = 2e-4) {
  return {
    name,
    seed: 42,
    description: 'x'.repeat(7000), // over MLflow's 6000-char param limit
    note: 'y'.repeat(6000), // exactly at it
    data: { type: 'image-folder', options: { path: '/data/lego bricks', size: 64, channels: 1 } },
    model: { generator: { type: 'dcgan-generator', options: { latentDim: 100, filters: [512, 256, 128, 64] } }, discriminator: { type: 'dcgan-discriminator', options: {} } },
    optimizers: { generator: { type: 'adam', options: { learningRate, beta1: 0.5, beta2: 0.999 } }, discriminator: { type: 'adam', options: { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 } } },
    trainer: { epochs: 30, batchSize: 128, updateMode: 'simultaneous', stepsPerEpoch: null },
    callbacks: [{ type: 'sample-grid', options: { every: 1 } }],
    tracking: [{ type: 'mlflow', options: {} }],
  };
}

describe('MlflowTracker with a real MLflow server', () => {
  let client: MlflowClient;
  const dirs: string[] = [];
  const newRunDir = () => {
    const dir = mkdtempSync(join(tmpdir(), 'duel-it-run-'));
    dirs.push(dir);
    return dir;
  };
  beforeAll(() => {
    client = new MlflowClient({ uri });
  });
  afterAll(async () => {
    await client.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('reads back every param, every metric at every step, every artifact byte for byte, and the status', async () => {
    const runDir = newRunDir();
    const exp = experiment(`it-roundtrip-${Date.now()}`);
    writeFileSync(join(runDir, 'experiment.resolved.json'), JSON.stringify(exp, null, 2));
    mkdirSync(join(runDir, 'samples'));
    mkdirSync(join(runDir, 'generator'));
    mkdirSync(join(runDir, 'checkpoints'));
    const files: Record<string, Buffer> = {
      'experiment.resolved.json': readFileSync(join(runDir, 'experiment.resolved.json')),
      'generator/model.json': Buffer.from(JSON.stringify({ modelTopology: { layers: [] }, weightsManifest: [] })),
      'generator/weights.bin': randomBytes(300_000),
    };
    for (let epoch = 1; epoch <= 3; epoch++) files[`samples/epoch-${String(epoch).padStart(4, '0')}.png`] = randomBytes(20_000 + epoch);
    for (const [path, bytes] of Object.entries(files)) writeFileSync(join(runDir, path), bytes);
    writeFileSync(join(runDir, 'checkpoints', 'step-30.bin'), randomBytes(1000));

    const tracker = new MlflowTracker({ uri, log: () => undefined });
    await tracker.start({ name: 'roundtrip', runDir, experiment: exp, tags: { 'duel.backend': 'tensorflow' } });
    tracker.logArtifact(join(runDir, 'experiment.resolved.json'), 'experiment.resolved.json');
    const sent: Record<string, [number, number][]> = {};
    const t0 = Date.now();
    for (let epoch = 1; epoch <= 30; epoch++) {
      const metrics: Record<string, number> = {};
      METRICS.forEach((key, i) => (metrics[key] = Math.sin(epoch * (i + 1)) * 10 ** (i % 3)));
      if (epoch === 17) metrics.g_loss = Number.NaN; // a diverged step must still arrive
      tracker.logMetrics(epoch, metrics, t0 + epoch);
      for (const [k, v] of Object.entries(metrics)) (sent[k] ??= []).push([epoch, v]);
      if (epoch <= 3) tracker.logArtifact(join(runDir, 'samples', `epoch-${String(epoch).padStart(4, '0')}.png`), `samples/epoch-${String(epoch).padStart(4, '0')}.png`);
    }
    tracker.logArtifact(join(runDir, 'generator'), 'generator');
    tracker.logArtifact(join(runDir, 'checkpoints', 'step-30.bin'), 'checkpoints/step-30.bin');
    tracker.setTags({ 'duel.stop_reason': 'epochs done' });
    await tracker.end('FINISHED');
    expect(tracker.endResult).toMatchObject({ synced: true, pending: 0 });
    const runId = tracker.runId!;

    // Params: every flattened path, with the long value cut at 6000 chars behind a marker.
    const { info, params, tags } = await runData(client, runId);
    const expected = flattenParams(exp);
    expect(Object.keys(params).sort()).toEqual(Object.keys(expected).sort());
    for (const [k, v] of Object.entries(expected)) expect(params[k], k).toBe(v);
    expect(params['optimizers.generator.options.learningRate']).toBe('0.0002');
    expect(params['model.generator.options.filters']).toBe('[512,256,128,64]');
    expect(params['description']).toHaveLength(6000);
    expect(params['description']).toMatch(/\.\.\.\[truncated: 7000 chars\]$/);
    expect(params['note']).toBe('y'.repeat(6000));

    // Metrics: every key at every step, with its value and timestamp.
    for (const key of METRICS) {
      const history = (await client.getMetricHistory(runId, key)).sort((a, b) => a.step - b.step);
      expect(history.map((m) => m.step), key).toEqual(sent[key]!.map(([s]) => s));
      history.forEach((m, i) => {
        const value = sent[key]![i]![1];
        if (Number.isNaN(value)) expect(m.value).toBeNaN();
        else expect(m.value).toBeCloseTo(value, 12);
        expect(m.timestamp).toBe(t0 + m.step);
      });
    }

    // Artifacts: exactly the files logged (no checkpoint), byte for byte.
    const listed = await listAllArtifacts(client, runId);
    expect(listed.map((f) => f.path).sort()).toEqual(Object.keys(files).sort());
    for (const [path, bytes] of Object.entries(files)) {
      const back = await downloadRunArtifact(client, runId, path);
      expect(back.equals(bytes), path).toBe(true);
    }

    // Status and the tags a run is created with.
    expect(info.status).toBe('FINISHED');
    expect(info.end_time).toBeGreaterThan(0);
    expect(tags['mlflow.runName']).toBe('roundtrip');
    expect(tags['mlflow.user']).toBeTruthy();
    expect(tags['mlflow.source.name']).toBeTruthy();
    expect(tags['mlflow.source.git.commit']).toBe(execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim());
    expect(tags['duel.backend']).toBe('tensorflow');
    expect(tags['duel.stop_reason']).toBe('epochs done');
    expect(tags['mlflow.parentRunId']).toBeUndefined();
  });

  it('builds the mlflow plugin from MLFLOW_TRACKING_URI, which the global setup exports', async () => {
    expect(process.env['MLFLOW_TRACKING_URI']).toBe(uri);
    const options = mlflowTracker.options.parse({});
    expect(mlflowTracker.check?.(options, {})).toEqual([]);
    const tracker = await mlflowTracker.create(options, { log: () => undefined });
    const name = `it-plugin-${Date.now()}`;
    await tracker.start({ name: 'plugin', runDir: newRunDir(), experiment: { name } });
    tracker.logMetrics(1, { d_loss: 0.7 });
    await tracker.end('FINISHED');
    const { info } = await runData(client, tracker.runId!);
    expect(info.status).toBe('FINISHED');
    expect(info.experiment_id).toBe(await client.getExperimentIdByName(name));
  });

  it('records a failed run with its error', async () => {
    const tracker = new MlflowTracker({ uri, log: () => undefined });
    await tracker.start({ name: 'fails', runDir: newRunDir(), experiment: { name: `it-failed-${Date.now()}` } });
    tracker.logMetrics(1, { d_loss: 1 });
    await tracker.end('FAILED', new Error('out of memory'));
    const { info, tags } = await runData(client, tracker.runId!);
    expect(info.status).toBe('FAILED');
    expect(tags['duel.error']).toBe('Error: out of memory');
  });

  it('nests two trials under a sweep parent run', async () => {
    const sweepName = `it-sweep-${Date.now()}`;
    const parentTracker = new MlflowTracker({ uri, log: () => undefined });
    const parent = await startParentRun({
      trackers: [parentTracker],
      name: sweepName,
      sweepDir: newRunDir(),
      sweep: { method: 'grid', grid: { 'optimizers.generator.options.learningRate': [1e-4, 2e-4] } },
    });
    expect(parent.runId).toBe(parentTracker.runId);
    expect(parent.runId).toMatch(/^[0-9a-f]{32}$/);

    const children: string[] = [];
    for (const [i, lr] of [1e-4, 2e-4].entries()) {
      const id = `t00${i + 1}`;
      const child = new MlflowTracker({ uri, experimentName: sweepName, log: () => undefined });
      await child.start(parent.childRun({ id, runDir: newRunDir(), experiment: experiment(sweepName, lr), settings: { 'optimizers.generator.options.learningRate': lr } }));
      for (let epoch = 1; epoch <= 3; epoch++) child.logMetrics(epoch, { g_loss: lr * epoch });
      await child.end('FINISHED');
      children.push(child.runId!);
      parent.logMetrics(i + 1, { best_g_loss: lr });
    }
    await parent.end('FINISHED');

    const parentData = await runData(client, parent.runId!);
    expect(parentData.info.status).toBe('FINISHED');
    expect(parentData.tags['duel.sweep.role']).toBe('parent');
    expect(parentData.params['grid.optimizers.generator.options.learningRate']).toBe('[0.0001,0.0002]');

    const experimentId = (await client.getExperimentIdByName(sweepName))!;
    const found = await client.searchRuns([experimentId], `tags.\`mlflow.parentRunId\` = '${parent.runId}'`);
    expect(found.map((r) => r.info.run_id).sort()).toEqual([...children].sort());
    for (const [i, runId] of children.entries()) {
      const data = await runData(client, runId);
      expect(data.tags['mlflow.parentRunId']).toBe(parent.runId);
      expect(data.tags['duel.sweep.trial']).toBe(`t00${i + 1}`);
      expect(data.params['optimizers.generator.options.learningRate']).toBe(String([1e-4, 2e-4][i]));
      expect(data.info.status).toBe('FINISHED');
      expect((await client.getMetricHistory(runId, 'g_loss')).map((m) => m.step).sort()).toEqual([1, 2, 3]);
    }
  });
});
