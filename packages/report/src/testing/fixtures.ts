/**
 * Builders of real-format run and sweep directories for this package's tests:
 * genuine PNG files (a small encoder below), metrics.jsonl as the trainer
 * writes it, and the optional files. Test support only; not exported.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import { mulberry32 } from '@duel/core';

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  body.copy(out, 4);
  out.writeUInt32BE(crc32(body), 8 + data.length);
  return out;
}

/** Encodes 8-bit grayscale pixels (row-major, width x height) as a PNG file. */
export function encodeGrayPng(pixels: Uint8Array, width: number, height: number): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // grayscale
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y += 1) {
    raw[y * (width + 1)] = 0; // filter: none
    raw.set(pixels.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** A deterministic pseudo-random source. */
const random = mulberry32;

/**
 * A sample grid like the callbacks write: rows x cols cells of brick-like
 * blobs, noisier at early epochs (`clarity` 0 to 1), so every epoch differs.
 */
export function sampleGridPng(seed: number, clarity: number, rows = 6, cols = 6, cell = 32, gap = 2): Buffer {
  const width = cols * cell + (cols + 1) * gap;
  const height = rows * cell + (rows + 1) * gap;
  const pixels = new Uint8Array(width * height).fill(255);
  const next = random(seed);
  for (let r = 0; r < rows; r += 1) {
    for (let c = 0; c < cols; c += 1) {
      const w = 0.45 + 0.35 * next();
      const h = 0.35 + 0.4 * next();
      const shade = 60 + 120 * next();
      for (let y = 0; y < cell; y += 1) {
        for (let x = 0; x < cell; x += 1) {
          const dx = Math.abs(x / cell - 0.5) / (w / 2);
          const dy = Math.abs(y / cell - 0.5) / (h / 2);
          const inside = Math.max(dx, dy) < 1 ? 1 : 0;
          const value = inside ? shade - 30 * (y / cell) : 235;
          const noisy = clarity * value + (1 - clarity) * 255 * next();
          pixels[(gap + r * (cell + gap) + y) * width + gap + c * (cell + gap) + x] = Math.max(0, Math.min(255, Math.round(noisy)));
        }
      }
    }
  }
  return encodeGrayPng(pixels, width, height);
}

/** What {@link writeRunDir} writes. */
export interface RunDirOptions {
  readonly epochs: number;
  readonly name?: string;
  readonly seed?: number;
  /** Write run.json, diagnostics.jsonl, memorisation.png and extra metrics. @default true */
  readonly optional?: boolean;
  readonly findings?: readonly { kind: string; epoch: number; message: string }[];
  readonly experiment?: Record<string, unknown>;
}

/** One epoch's metrics, shaped as the trainer writes them, drifting with the epoch. */
export function epochMetrics(epoch: number, seed: number, extras: boolean): Record<string, number> {
  const next = random(seed * 1000 + epoch);
  const t = epoch / 10;
  const metrics: Record<string, number> = {
    epoch,
    step: epoch * 25,
    d_loss: 0.55 + 0.25 * Math.exp(-t) + 0.05 * next(),
    g_loss: 1.6 - 0.6 * Math.exp(-t) + 0.1 * next(),
    d_real_acc: 0.7 + 0.1 * next(),
    d_fake_acc: 0.75 + 0.1 * next(),
    d_acc: 0.72 + 0.1 * next(),
    g_acc: 0.25 + 0.1 * next(),
    images_per_s: 900 + 80 * next(),
    seconds: 3.5 + 0.3 * next(),
  };
  if (extras) {
    metrics.d_real_mean = 0.62 + 0.05 * next();
    metrics.d_fake_mean = 0.31 + 0.05 * next();
    metrics.grad_norm_d = 2 + next();
    metrics.grad_norm_g = 4 + next();
    if (epoch % 3 === 0) metrics.fid = 180 * Math.exp(-t) + 40;
  }
  return metrics;
}

/** Writes a complete run directory; returns its metrics rows. */
export async function writeRunDir(dir: string, options: RunDirOptions): Promise<Record<string, number>[]> {
  const seed = options.seed ?? 1;
  const optional = options.optional ?? true;
  await mkdir(join(dir, 'samples'), { recursive: true });
  const rows: Record<string, number>[] = [];
  for (let epoch = 1; epoch <= options.epochs; epoch += 1) {
    rows.push(epochMetrics(epoch, seed, optional));
    const file = join(dir, 'samples', `epoch-${String(epoch).padStart(4, '0')}.png`);
    await writeFile(file, sampleGridPng(seed * 7919 + epoch, Math.min(1, 0.25 + epoch / options.epochs)));
  }
  await writeFile(join(dir, 'metrics.jsonl'), rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  const experiment = options.experiment ?? {
    name: options.name ?? 'dcgan-lego',
    seed: 42,
    backend: { type: 'tensorflow', options: {} },
    data: { type: 'image-folder', options: { path: '/data/lego bricks', size: 64 } },
    model: { generator: { type: 'dcgan-generator', options: {} }, discriminator: { type: 'dcgan-discriminator', options: {} } },
    loss: { type: 'bce-label-noise', options: { noise: 0.1 } },
    trainer: { epochs: options.epochs, batchSize: 128, updateMode: 'simultaneous' },
  };
  await writeFile(join(dir, 'experiment.resolved.json'), JSON.stringify(experiment, null, 2));
  if (optional) {
    await writeFile(
      join(dir, 'run.json'),
      JSON.stringify({
        status: 'FINISHED',
        backend: 'tensorflow',
        name: options.name ?? 'dcgan-lego',
        started: '2025-03-01T10:00:00.000Z',
        ended: '2025-03-01T10:00:25.000Z',
        images_per_s: 934.5,
      }),
    );
    const findings = options.findings ?? [{ kind: 'd-overpowers-g', epoch: 2, message: 'D accuracy above 0.95 for 2 epochs' }];
    await writeFile(join(dir, 'diagnostics.jsonl'), findings.map((f) => JSON.stringify(f)).join('\n') + '\n');
    await writeFile(join(dir, 'memorisation.png'), sampleGridPng(seed + 99, 1, 3, 20, 24, 2));
  }
  return rows;
}

/** One trial of {@link writeSweepDir}. */
export interface TrialSpec {
  readonly id: string;
  readonly settings: Record<string, unknown>;
  readonly epochs: number;
  readonly status?: string;
}

/** Writes a sweep directory: sweep.json, trials/<id>/ runs, trials.jsonl, results.csv and results.md. */
export async function writeSweepDir(dir: string, name: string, trials: readonly TrialSpec[]): Promise<void> {
  await mkdir(join(dir, 'trials'), { recursive: true });
  const paths = [...new Set(trials.flatMap((t) => Object.keys(t.settings)))];
  await writeFile(
    join(dir, 'sweep.json'),
    JSON.stringify({ name, base: 'experiments/dcgan-lego.json', grid: Object.fromEntries(paths.map((p) => [p, trials.map((t) => t.settings[p])])) }, null, 2),
  );
  const lines: string[] = [];
  const csv = [['id', 'status', ...paths, 'd_loss', 'g_loss', 'images_per_s'].join(',')];
  for (const [index, trial] of trials.entries()) {
    const runDir = join(dir, 'trials', trial.id);
    const rows = await writeRunDir(runDir, { epochs: trial.epochs, name: `${name}-${trial.id}`, seed: index + 2, optional: false });
    const last = rows.at(-1)!;
    const metrics = { d_loss: last.d_loss, g_loss: last.g_loss, images_per_s: last.images_per_s };
    lines.push(JSON.stringify({ id: trial.id, settings: trial.settings, status: trial.status ?? 'FINISHED', runDir: `trials/${trial.id}`, metrics }));
    csv.push([trial.id, trial.status ?? 'FINISHED', ...paths.map((p) => JSON.stringify(trial.settings[p])), metrics.d_loss, metrics.g_loss, metrics.images_per_s].join(','));
  }
  await writeFile(join(dir, 'trials.jsonl'), lines.join('\n') + '\n');
  await writeFile(join(dir, 'results.csv'), csv.join('\n') + '\n');
  await writeFile(join(dir, 'results.md'), `| id |\n| --- |\n${trials.map((t) => `| ${t.id} |`).join('\n')}\n`);
}
