import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand, duel } from './support/cli';
import { latestCheckpoint, readJsonLines, tempDir, tinySet } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
// Dropout (0.3 in D) and label noise (0.1) stay on: they are what makes resume hard.
const settings = [...tinySet, 'trainer.epochs=3'].flatMap((s) => ['--set', s]);

describe('exact resume', () => {
  it('an interrupted run resumed ends bit for bit where an uninterrupted one does', async () => {
    const root = tempDir('duel-resume-');
    const whole = join(root, 'whole');
    const first = await duel(['train', experiment, '--out', whole, ...settings]);
    expect(first.code, first.stderr).toBe(0);

    // Interrupted at an epoch boundary: 1 epoch, then resumed to 3.
    const split = join(root, 'split');
    expect((await duel(['train', experiment, '--out', split, ...settings, '--set', 'trainer.epochs=1'])).code).toBe(0);
    const resumed = await duel(['train', experiment, '--resume', split, ...settings]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*step-00000006/);

    // Interrupted mid-epoch by SIGINT, then resumed.
    const killed = join(root, 'killed');
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), 'train', experiment, '--out', killed, ...settings], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      let signalled = false;
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        // After the first epoch line, stop it about half way through the second epoch
        // (the first epoch's speed says how long half an epoch takes; +1 s for its checkpoint).
        const speed = /epoch 1\/3 .* ([0-9.]+) img\/s/.exec(err);
        if (speed && !signalled) {
          signalled = true;
          setTimeout(() => child.kill('SIGINT'), 1000 + (0.5 * 192 * 1000) / Number(speed[1]));
        }
      });
      child.on('close', resolve);
    });
    expect(code).toBe(130);
    const interruptedAt = latestCheckpoint(killed);
    expect(interruptedAt.step).toBeGreaterThan(6);
    expect(interruptedAt.step).toBeLessThan(18);
    const finished = await duel(['train', experiment, '--resume', killed, ...settings]);
    expect(finished.code, finished.stderr).toBe(0);

    const reference = latestCheckpoint(whole);
    expect(reference).toMatchObject({ step: 18, epoch: 3 });
    expect(latestCheckpoint(split).sha256).toBe(reference.sha256);
    expect(latestCheckpoint(killed).sha256).toBe(reference.sha256);
    // The metrics of the resumed runs are the uninterrupted run's, epoch by epoch (timings aside).
    const strip = (rows: Record<string, number>[]) => rows.map(({ images_per_s, seconds, ...rest }) => rest);
    expect(strip(readJsonLines(join(split, 'metrics.jsonl')))).toEqual(strip(readJsonLines(join(whole, 'metrics.jsonl'))));
    expect(strip(readJsonLines(join(killed, 'metrics.jsonl')))).toEqual(strip(readJsonLines(join(whole, 'metrics.jsonl'))));
  }, 600_000);
});
