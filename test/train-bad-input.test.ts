import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { duel } from './support/cli';
import { latestCheckpoint, tempDir, tinySet } from './support/runs';

const experiment = join(__dirname, '..', 'experiments', 'dcgan-fashion-mnist.yaml');
const settings = (extra: string[] = []) => [...tinySet, 'trainer.epochs=1', ...extra].flatMap((s) => ['--set', s]);

/** A small image folder of real PNGs (with a space in a name) and one broken file. */
async function folderWithBadFile(): Promise<{ dir: string; bad: string }> {
  const dir = tempDir('duel-images-');
  mkdirSync(join(dir, 'class a'));
  for (let i = 0; i < 40; i++) {
    const pixels = Buffer.alloc(40 * 40, (i * 37) % 255);
    await sharp(pixels, { raw: { width: 40, height: 40, channels: 1 } }).png().toFile(join(dir, 'class a', `brick ${i}.png`));
  }
  const bad = join(dir, 'class a', 'broken render.png');
  writeFileSync(bad, Buffer.from('\x89PNG\r\n\x1a\nthis is not really a png'));
  return { dir, bad };
}

function snapshot(dir: string): Record<string, number> {
  const out: Record<string, number> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out[p] = statSync(p).size;
    }
  };
  walk(dir);
  return out;
}

describe('bad image files', () => {
  it('stop the run before training, exit 2, and name the file', async () => {
    const { dir, bad } = await folderWithBadFile();
    const out = join(tempDir(), 'run');
    const result = await duel(['train', experiment, '--out', out, ...settings([`data.type=image-folder`, `data.options={path: "${dir}", imageSize: 32}`])]);
    expect(result.code, result.stderr).toBe(2);
    expect(result.stderr).toContain(bad);
    expect(result.stderr).not.toMatch(/epoch \d+\//);
  });

  it('are skipped and counted when the experiment asks to skip them', async () => {
    const { dir } = await folderWithBadFile();
    const out = join(tempDir(), 'run');
    const result = await duel(['train', experiment, '--out', out, ...settings([`data.type=image-folder`, `data.options={path: "${dir}", imageSize: 32, onBadFile: skip}`])]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(/1 bad files? skipped|skipped 1 bad file/);
    expect(result.stderr).toMatch(/40 images 32x32x1/);
  });
});

describe('bad --resume folders', () => {
  let runDir = '';
  beforeAll(async () => {
    runDir = join(tempDir(), 'run');
    const result = await duel(['train', experiment, '--out', runDir, ...settings(['trainer.epochs=2'])]);
    expect(result.code, result.stderr).toBe(0);
  }, 300_000);

  it('a missing folder or one that is not a run exits 2 naming it', async () => {
    const missing = join(tempDir(), 'nope');
    const a = await duel(['train', experiment, '--resume', missing, ...settings()]);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain(missing);
    const empty = tempDir('duel-empty-');
    const b = await duel(['train', experiment, '--resume', empty, ...settings()]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(empty);
    expect(readdirSync(empty)).toEqual([]);
  });

  it('a damaged newest checkpoint falls back to the previous one; all damaged exits 2 and touches nothing', async () => {
    const copy = join(tempDir(), 'copy');
    cpSync(runDir, copy, { recursive: true });
    const newest = latestCheckpoint(copy);
    truncateSync(join(newest.dir, 'tensors.bin'), 1000);
    const resumed = await duel(['train', experiment, '--resume', copy, ...settings(['trainer.epochs=2'])]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming from .*step-00000006/);

    const broken = join(tempDir(), 'broken');
    cpSync(runDir, broken, { recursive: true });
    for (const name of readdirSync(join(broken, 'checkpoints')).filter((n) => n.startsWith('step-'))) truncateSync(join(broken, 'checkpoints', name, 'tensors.bin'), 10);
    const before = snapshot(broken);
    const failed = await duel(['train', experiment, '--resume', broken, ...settings(['trainer.epochs=3'])]);
    expect(failed.code).toBe(2);
    expect(failed.stderr).toContain(join(broken, 'checkpoints'));
    expect(failed.stderr).toMatch(/checksum mismatch/);
    expect(snapshot(broken)).toEqual(before);
    expect(existsSync(join(broken, 'metrics.jsonl'))).toBe(true);
    expect(readFileSync(join(broken, 'metrics.jsonl'), 'utf8').trim().split('\n')).toHaveLength(2);
  });
});
