/**
 * One writer per run directory's MLflow queue: a lock file holding the owner's
 * pid and a token, so `duel sync` can't replay a queue a live run is still
 * appending to. A lock whose process is gone is stale and taken over.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: string }).code === 'EPERM';
  }
}

export class RunLock {
  private constructor(
    readonly path: string,
    private readonly token: string,
  ) {}

  /** Takes the lock, or throws naming the process that holds it. */
  static acquire(path: string): RunLock {
    const token = `${process.pid}:${randomUUID()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        writeFileSync(path, token, { flag: 'wx' });
        return new RunLock(path, token);
      } catch (error) {
        if ((error as { code?: string }).code !== 'EEXIST') throw error;
        let holder = '';
        try {
          holder = readFileSync(path, 'utf8');
        } catch {
          continue;
        }
        const pid = Number(holder.split(':')[0]);
        if (Number.isInteger(pid) && pid > 0 && alive(pid)) {
          throw new Error(`the MLflow queue of this run is in use by process ${pid} (${path}); wait for it to end, or delete the lock if that process is not a duel run`);
        }
        try {
          unlinkSync(path);
        } catch {
          // Someone else took it over first; the next attempt sees their lock.
        }
      }
    }
    throw new Error(`could not take the lock ${path}`);
  }

  release(): void {
    try {
      if (readFileSync(this.path, 'utf8') === this.token) unlinkSync(this.path);
    } catch {
      // Already gone.
    }
  }
}
