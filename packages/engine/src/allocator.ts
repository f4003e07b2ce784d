import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * Where Debian/Ubuntu's libtcmalloc-minimal4 puts tcmalloc. TensorFlow frees
 * and re-allocates its multi-megabyte activation buffers at every op; glibc
 * malloc serves those with fresh mmap()s, so the kernel zeroes new pages all
 * the time (system time). tcmalloc keeps them.
 */
export const TCMALLOC_PATHS: readonly string[] = [
  '/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4',
  '/usr/lib64/libtcmalloc_minimal.so.4',
  '/usr/lib/libtcmalloc_minimal.so.4',
];

/** Set in the relaunched process, so it does not relaunch again. */
const MARK = 'DUEL_ALLOCATOR';

/** The tcmalloc library found here, if any. */
export function findTcmalloc(): string | undefined {
  return TCMALLOC_PATHS.find((path) => existsSync(path));
}

/** Which allocator this process runs with. */
export function currentAllocator(): 'tcmalloc' | 'default' {
  return (process.env['LD_PRELOAD'] ?? '').includes('tcmalloc') ? 'tcmalloc' : 'default';
}

/**
 * Runs this same command again with tcmalloc preloaded (LD_PRELOAD can only
 * take effect at process start), when tcmalloc is installed, this is Linux,
 * and neither the environment (DUEL_ALLOCATOR=default) nor an earlier
 * relaunch said otherwise.
 *
 * Resolves `false` when the caller should carry on in this process; `true`
 * when the command ran in a child, whose exit code is now this process's
 * `exitCode`: the caller must then return without doing anything else.
 * SIGINT, SIGTERM and SIGHUP are passed on to the child.
 */
export async function relaunchWithAllocator(): Promise<boolean> {
  if (process.platform !== 'linux') return false;
  if (process.env[MARK] !== undefined || currentAllocator() === 'tcmalloc') return false;
  const library = findTcmalloc();
  if (!library) return false;
  const preload = [library, process.env['LD_PRELOAD']].filter(Boolean).join(':');
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit',
    env: { ...process.env, LD_PRELOAD: preload, [MARK]: 'tcmalloc' },
  });
  const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => {
    const handler = forward(signal);
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  const code = await new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + signalNumber(signal) : 1)));
  });
  for (const [signal, handler] of handlers) process.off(signal, handler);
  process.exitCode = code;
  return true;
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 1;
}
