import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh temporary folder for one test's runs. */
export function tempDir(prefix = 'duel-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Tiny but real: Fashion-MNIST at 32x32, a few batches, the book's DCGAN at size 32. */
export const tinySet = ['data.options.limit=192', 'data.options.imageSize=32', 'trainer.batchSize=32', 'trainer.logEvery=2'];

export interface CheckpointInfo {
  dir: string;
  sha256: string;
  step: number;
  epoch: number;
}

/** The checkpoint `latest.json` points at, and the hash of its tensors (weights + optimizer state). */
export function latestCheckpoint(runDir: string): CheckpointInfo {
  const latest = JSON.parse(readFileSync(join(runDir, 'checkpoints', 'latest.json'), 'utf8')) as { checkpoint: string };
  const dir = join(runDir, 'checkpoints', latest.checkpoint);
  const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { position: { step: number; epoch: number } };
  const sha256 = createHash('sha256').update(readFileSync(join(dir, 'tensors.bin'))).digest('hex');
  return { dir, sha256, step: manifest.position.step, epoch: manifest.position.epoch };
}

export function readJsonLines<T = Record<string, number>>(path: string): T[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}
