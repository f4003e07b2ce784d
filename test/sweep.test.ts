import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { cliCommand, duel } from './support/cli';
import { readJsonLines, tempDir } from './support/runs';

const base = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');

function sweepFile(dir: string): string {
  const path = join(dir, 'tiny-sweep.yaml');
  writeFileSync(
    path,
    [
      'name: tiny-ablation',
      `base: ${base}`,
      'grid:',
      '  loss.options.noise: [0, 0.1]',
      '  trainer.updateMode: [simultaneous, alternating]',
      'seeds: [1]',
      'set: [trainer.epochs=1, data.options.limit=96, trainer.batchSize=32]',
      'sortBy: d_loss',
    ].join('\n'),
  );
  return path;
}

describe('ablation sweeps', () => {
  it('lists the trials of the shipped ablation with --dry-run', async () => {
    const result = await duel(['sweep', join(__dirname, '..', 'experiments', 'ablation-book-dcgan.yaml'), '--dry-run']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^12 trials$/m);
    expect(result.stdout).toContain('"loss.options.noise":0.05');
    expect(result.stdout).toContain('"trainer.updateMode":"alternating"');
  });

  it('runs to a results table; killed halfway and resumed, it runs only the missing trials', async () => {
    const dir = tempDir('duel-sweep-');
    const file = sweepFile(dir);
    const out = join(dir, 'sweep');
    // Interrupt after the second trial has finished.
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn(cliCommand[0]!, [...cliCommand.slice(1), 'sweep', file, '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
      let err = '';
      let finished = 0;
      child.stderr.on('data', (c: Buffer) => {
        err += c.toString();
        finished = (err.match(/: FINISHED/g) ?? []).length;
        if (finished >= 2 && !child.killed) child.kill('SIGINT');
      });
      child.on('close', resolve);
    });
    expect(code).not.toBe(0);
    const partial = readJsonLines<{ id: string; status: string }>(join(out, 'trials.jsonl'));
    const done = partial.filter((t) => t.status === 'FINISHED').map((t) => t.id);
    expect(done.length).toBeGreaterThanOrEqual(2);
    expect(done.length).toBeLessThan(4);

    const resumed = await duel(['sweep', '--resume', out]);
    expect(resumed.code, resumed.stderr).toBe(0);
    for (const id of done) expect(resumed.stderr).toContain(`trial ${id}: finished earlier, kept`);
    expect((resumed.stderr.match(/: (starting|resuming)/g) ?? []).length).toBe(4 - done.length);
    const trials = readJsonLines<{ status: string; metrics: Record<string, number> }>(join(out, 'trials.jsonl'));
    expect(trials).toHaveLength(4);
    expect(trials.every((t) => t.status === 'FINISHED' && Number.isFinite(t.metrics['d_loss']))).toBe(true);
    const csv = readFileSync(join(out, 'results.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('trial,loss.options.noise,trainer.updateMode,seed,status,d_loss,g_loss,d_acc,g_acc,images_per_s');
    expect(csv).toHaveLength(5);
    const dLoss = csv.slice(1).map((row) => Number(row.split(',')[5]));
    expect([...dLoss].sort((a, b) => a - b)).toEqual(dLoss);
    expect(existsSync(join(out, 'results.md'))).toBe(true);
  }, 600_000);

  it('swaps whole parts and lists of parts: trials named by type, the table by label, the CSV with the JSON', async () => {
    const dir = tempDir('duel-sweep-parts-');
    const file = join(dir, 'parts-sweep.yaml');
    writeFileSync(
      file,
      [
        'name: parts-ablation',
        `base: ${base}`,
        'grid:',
        '  augment: [[], [{type: diffaugment}, {type: instance-noise, options: {sigma: 0.2}}]]',
        '  loss: [{type: one-sided-label-smoothing, options: {smoothing: 0.1}}]',
        'seeds: [1]',
        'set: [trainer.epochs=1, data.options.limit=64, trainer.batchSize=32]',
      ].join('\n'),
    );
    const out = join(dir, 'sweep');
    const result = await duel(['sweep', file, '--out', out]);
    expect(result.code, result.stderr).toBe(0);
    const ids = ['t001-none-one-sided-label-smoothing-s1', 't002-diffaugment+instance-noise-one-sided-label-smoothing-s1'];
    const resolved = ids.map((id) => JSON.parse(readFileSync(join(out, 'trials', id, 'experiment.resolved.json'), 'utf8')));
    expect(resolved[0].augment).toEqual([]);
    expect(resolved[1].augment).toEqual([
      { type: 'diffaugment', options: { policy: ['color', 'translation', 'cutout'], translation: 0.125, cutout: 0.5 } },
      { type: 'instance-noise', options: { sigma: 0.2, annealEpochs: null } },
    ]);
    expect(resolved.every((r) => r.loss.type === 'one-sided-label-smoothing')).toBe(true);
    const md = readFileSync(join(out, 'results.md'), 'utf8');
    expect(md).toMatch(/\| t002-\S+ \| diffaugment\+instance-noise \| one-sided-label-smoothing \|/);
    expect(md).toMatch(/\| t001-\S+ \| none \| one-sided-label-smoothing \|/);
    expect(readFileSync(join(out, 'results.csv'), 'utf8')).toContain('"[{""type"":""diffaugment""}');
    // The sweep report names them the same way, with the whole JSON as the cell's tooltip.
    const report = await duel(['report', out]);
    expect(report.code, report.stderr).toBe(0);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).toMatch(/<td title="\[\{&quot;type&quot;:&quot;diffaugment&quot;[^"]*">diffaugment\+instance-noise<\/td>/);
    expect(html).toContain('t002-diffaugment+instance-noise-one-sided-label-smoothing-s1: augment=diffaugment+instance-noise');
  }, 300_000);
});
