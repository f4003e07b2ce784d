import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalTracker } from './local-tracker';

describe('LocalTracker', () => {
  let runDir: string;
  beforeEach(() => {
    runDir = mkdtempSync(join(tmpdir(), 'duel-local-'));
  });
  afterEach(() => rmSync(runDir, { recursive: true, force: true }));

  it('writes every event in order and a summary at the end', async () => {
    writeFileSync(join(runDir, 'grid.png'), Buffer.alloc(123));
    const t = new LocalTracker();
    await t.start({ name: 'r', runDir, experiment: { name: 'e' }, parentRunId: 'p1', tags: { a: '1' } });
    t.logMetrics(1, { d_loss: 0.5, g_loss: Number.NaN }, 1000);
    t.setTags({ b: '2' });
    t.logArtifact(join(runDir, 'grid.png'), 'samples/grid.png');
    t.logMetrics(2, { d_loss: 0.4 }, 2000);
    await t.end('FAILED', new Error('boom'));

    const events = readFileSync(join(runDir, 'tracking', 'local.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(events.map((e) => e.event)).toEqual(['start', 'metrics', 'tags', 'artifact', 'metrics', 'end']);
    expect(events[1]).toMatchObject({ step: 1, timestamp: 1000, metrics: { d_loss: 0.5, g_loss: 'NaN' } });
    expect(events[3]).toMatchObject({ artifactPath: 'samples/grid.png', bytes: 123 });
    expect(events[5]).toMatchObject({ status: 'FAILED', error: 'Error: boom' });

    const summary = JSON.parse(readFileSync(join(runDir, 'tracking', 'run.json'), 'utf8'));
    expect(summary).toMatchObject({
      name: 'r',
      status: 'FAILED',
      parentRunId: 'p1',
      metricEvents: 2,
      lastStep: 2,
      lastMetrics: { d_loss: 0.4, g_loss: 'NaN' },
      tags: { a: '1', b: '2' },
    });
    expect(summary.artifacts).toHaveLength(1);
    expect(summary.runId).toBe(t.runId);
  });
});
