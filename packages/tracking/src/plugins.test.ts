import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Container } from 'inversify';
import { afterEach, describe, expect, it } from 'vitest';
import { PluginToken, UserInputError, type AnyPlugin } from '@duel/core';
import { LocalTracker } from './local-tracker';
import { MlflowTracker } from './mlflow-tracker';
import { localTracker, mlflowTracker, trackingModule } from './plugins';
import { startParentRun } from './sweep';

describe('tracker plugins', () => {
  const saved = process.env['MLFLOW_TRACKING_URI'];
  afterEach(() => {
    if (saved === undefined) delete process.env['MLFLOW_TRACKING_URI'];
    else process.env['MLFLOW_TRACKING_URI'] = saved;
  });

  it('binds mlflow and local', async () => {
    const container = new Container();
    container.load(trackingModule);
    const plugins = container.getAll<AnyPlugin>(PluginToken);
    expect(plugins.map((p) => `${p.kind}:${p.name}`).sort()).toEqual(['tracker:local', 'tracker:mlflow']);
  });

  it('takes the URI from options, then MLFLOW_TRACKING_URI, and names the problem when neither is set', async () => {
    delete process.env['MLFLOW_TRACKING_URI'];
    const options = mlflowTracker.options.parse({});
    expect(options).toMatchObject({ uploadCheckpoints: false, flushTimeoutMs: 120_000 });
    expect(mlflowTracker.check?.(options, {})).toEqual([expect.stringContaining('MLFLOW_TRACKING_URI')]);
    expect(() => mlflowTracker.create(options, undefined)).toThrow(UserInputError);
    process.env['MLFLOW_TRACKING_URI'] = 'http://127.0.0.1:5999';
    expect(mlflowTracker.check?.(options, {})).toEqual([]);
    expect(await mlflowTracker.create(options, undefined)).toBeInstanceOf(MlflowTracker);
    expect(mlflowTracker.check?.(mlflowTracker.options.parse({ uri: 'localhost:5000' }), {})).toEqual([expect.stringContaining('http(s)')]);
    expect(() => mlflowTracker.options.parse({ url: 'x' })).toThrow();
  });

  it('builds the local tracker', async () => {
    expect(await localTracker.create(localTracker.options.parse({}), undefined)).toBeInstanceOf(LocalTracker);
  });
});

describe('startParentRun', () => {
  it('gives children the parent id and the sweep tags', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'duel-sweep-'));
    try {
      const tracker = new LocalTracker();
      const parent = await startParentRun({ trackers: [tracker], name: 'lr', sweepDir: dir, sweep: { grid: { lr: [1, 2] } } });
      expect(parent.runId).toBe(tracker.runId);
      const child = parent.childRun({ id: 't001', runDir: join(dir, 't001'), experiment: { name: 'x' }, settings: { lr: 1 } });
      expect(child).toMatchObject({ name: 't001', parentRunId: tracker.runId, tags: { 'duel.sweep.role': 'trial', 'duel.sweep.trial': 't001', 'duel.sweep.settings': '{"lr":1}' } });
      await parent.end('FINISHED');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
