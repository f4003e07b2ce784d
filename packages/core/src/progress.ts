import type { EpochMetrics } from './contracts';

/** What the trainer reports as it goes; the CLI decides how it looks. */
export interface ProgressSink {
  step(epoch: number, totalEpochs: number, stepInEpoch: number, stepsPerEpoch: number, running: Partial<EpochMetrics>): void;
  epoch(metrics: EpochMetrics, totalEpochs: number): void;
  line(text: string): void;
}

const fmt = (value: number | undefined, digits = 3) => (value === undefined || !Number.isFinite(value) ? '  -  ' : value.toFixed(digits));

/** One line per epoch: d_loss, g_loss, accuracies, images/s. */
export function formatEpoch(m: EpochMetrics, totalEpochs: number): string {
  return (
    `epoch ${String(m.epoch).padStart(String(totalEpochs).length)}/${totalEpochs}  ` +
    `d_loss ${fmt(m.d_loss)}  g_loss ${fmt(m.g_loss)}  d_real_acc ${fmt(m.d_real_acc)}  d_fake_acc ${fmt(m.d_fake_acc)}  ` +
    `d_acc ${fmt(m.d_acc)}  g_acc ${fmt(m.g_acc)}  ${fmt(m.images_per_s, 1)} img/s`
  );
}

/**
 * A progress bar on a terminal (redrawn in place), plain lines otherwise: a
 * log file or CI gets one line per epoch and no control characters.
 */
export class TerminalProgress implements ProgressSink {
  constructor(private readonly out: NodeJS.WriteStream = process.stderr) {}

  private get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  step(epoch: number, totalEpochs: number, stepInEpoch: number, stepsPerEpoch: number, running: Partial<EpochMetrics>): void {
    if (!this.tty) return;
    const width = 24;
    const filled = Math.round((stepInEpoch / Math.max(1, stepsPerEpoch)) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    this.out.write(
      `\r\x1b[2Kepoch ${epoch}/${totalEpochs} [${bar}] ${stepInEpoch}/${stepsPerEpoch}  d_loss ${fmt(running.d_loss)}  g_loss ${fmt(running.g_loss)}  ` +
        `d_acc ${fmt(running.d_acc)}  g_acc ${fmt(running.g_acc)}  ${fmt(running.images_per_s, 1)} img/s`,
    );
  }

  epoch(metrics: EpochMetrics, totalEpochs: number): void {
    this.out.write(`${this.tty ? '\r\x1b[2K' : ''}${formatEpoch(metrics, totalEpochs)}\n`);
  }

  line(text: string): void {
    this.out.write(`${this.tty ? '\r\x1b[2K' : ''}${text}\n`);
  }
}

/** Collects everything, prints nothing (tests, sweeps in parallel). */
export class SilentProgress implements ProgressSink {
  readonly lines: string[] = [];
  step(): void {}
  epoch(metrics: EpochMetrics, totalEpochs: number): void {
    this.lines.push(formatEpoch(metrics, totalEpochs));
  }
  line(text: string): void {
    this.lines.push(text);
  }
}
