/**
 * The local tracker: a plain record of what a run told its trackers, for runs
 * without a server. The trainer writes metrics.jsonl itself; this adds the
 * tags, artifacts and the end, in order, with times:
 *
 * - `<runDir>/tracking/local.jsonl`: one event a line
 *   (`start`, `metrics`, `tags`, `artifact`, `end`);
 * - `<runDir>/tracking/run.json`: at the end, the status, times, step count,
 *   last metrics, tags and artifacts.
 */
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { RunInfo, RunStatus, Tracker } from '@duel/core';
import { toMlflowJson } from './mlflow-client';
import { writeFileAtomic } from './queue-file';

/** What `<runDir>/tracking/run.json` holds. */
export interface LocalRunSummary {
  runId: string;
  name: string;
  runDir: string;
  parentRunId?: string;
  status: RunStatus;
  error?: string;
  startedAt: string;
  endedAt: string;
  seconds: number;
  /** logMetrics calls. */
  metricEvents: number;
  lastStep: number | null;
  lastMetrics: Record<string, number>;
  tags: Record<string, string>;
  artifacts: { localPath: string; artifactPath: string; bytes: number | null }[];
}

/** A {@link Tracker} that writes events to the run directory. */
export class LocalTracker implements Tracker {
  readonly name = 'local';
  /** A random id, so a sweep can name its parent even without a server. */
  readonly runId: string = randomUUID();
  private fd: number | undefined;
  private run: RunInfo | undefined;
  private started = 0;
  private metricEvents = 0;
  private lastStep: number | null = null;
  private lastMetrics: Record<string, number> = {};
  private tags: Record<string, string> = {};
  private artifacts: LocalRunSummary['artifacts'] = [];

  async start(run: RunInfo): Promise<void> {
    if (this.run) throw new Error('LocalTracker.start called twice');
    this.run = run;
    this.started = Date.now();
    const dir = join(run.runDir, 'tracking');
    mkdirSync(dir, { recursive: true });
    this.fd = openSync(join(dir, 'local.jsonl'), 'a');
    this.tags = { ...(run.tags ?? {}) };
    this.write({ event: 'start', runId: this.runId, name: run.name, runDir: resolve(run.runDir), parentRunId: run.parentRunId, tags: run.tags ?? {} });
  }

  private write(event: Record<string, unknown>): void {
    if (this.fd === undefined) return;
    // Non-finite losses are written as "NaN"/"Infinity": JSON has no spelling for them.
    writeSync(this.fd, `${toMlflowJson({ time: new Date().toISOString(), ...event })}\n`);
  }

  logMetrics(step: number, metrics: Record<string, number>, timestamp?: number): void {
    this.metricEvents++;
    this.lastStep = step;
    this.lastMetrics = { ...this.lastMetrics, ...metrics };
    this.write({ event: 'metrics', step, timestamp: timestamp ?? Date.now(), metrics });
  }

  setTags(tags: Record<string, string>): void {
    Object.assign(this.tags, tags);
    this.write({ event: 'tags', tags });
  }

  logArtifact(localPath: string, artifactPath: string): void {
    let bytes: number | null = null;
    try {
      bytes = statSync(localPath).size;
    } catch {
      // Recorded as missing; the event still says it was asked for.
    }
    const entry = { localPath: resolve(localPath), artifactPath, bytes };
    this.artifacts.push(entry);
    this.write({ event: 'artifact', ...entry });
  }

  async end(status: RunStatus, error?: Error): Promise<void> {
    if (!this.run || this.fd === undefined) return;
    const errorText = error ? `${error.name}: ${error.message}` : undefined;
    this.write({ event: 'end', status, ...(errorText ? { error: errorText } : {}) });
    fsyncSync(this.fd);
    closeSync(this.fd);
    this.fd = undefined;
    const ended = Date.now();
    const summary: LocalRunSummary = {
      runId: this.runId,
      name: this.run.name,
      runDir: resolve(this.run.runDir),
      ...(this.run.parentRunId ? { parentRunId: this.run.parentRunId } : {}),
      status,
      ...(errorText ? { error: errorText } : {}),
      startedAt: new Date(this.started).toISOString(),
      endedAt: new Date(ended).toISOString(),
      seconds: (ended - this.started) / 1000,
      metricEvents: this.metricEvents,
      lastStep: this.lastStep,
      lastMetrics: this.lastMetrics,
      tags: this.tags,
      artifacts: this.artifacts,
    };
    writeFileAtomic(join(this.run.runDir, 'tracking', 'run.json'), `${toMlflowJson(summary, 2)}\n`);
  }
}
