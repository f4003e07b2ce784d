import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findTcmalloc } from './allocator';

const here = dirname(fileURLToPath(import.meta.url));
const tsx = join(here, '../../../node_modules/.bin/tsx');
const probe = join(here, 'fixtures/relaunch-probe.ts');

function runProbe(code: number, env: NodeJS.ProcessEnv = {}) {
  const { LD_PRELOAD: _preload, DUEL_ALLOCATOR: _mark, ...clean } = process.env;
  const result = spawnSync(tsx, [probe, String(code), 'extra'], { encoding: 'utf8', env: { ...clean, ...env } });
  const line = result.stdout.trim().split('\n').pop() ?? '';
  return { status: result.status, report: JSON.parse(line) as { allocator: string; args: string[] } };
}

describe('relaunchWithAllocator', () => {
  it('reruns the same command with tcmalloc when it is installed, passing arguments and exit code through', () => {
    const { status, report } = runProbe(3);
    expect(report.allocator).toBe(findTcmalloc() && process.platform === 'linux' ? 'tcmalloc' : 'default');
    expect(report.args).toEqual(['3', 'extra']);
    expect(status).toBe(3);
  });

  it('stays in this process when told to (DUEL_ALLOCATOR=default)', () => {
    const { status, report } = runProbe(0, { DUEL_ALLOCATOR: 'default' });
    expect(report.allocator).toBe('default');
    expect(status).toBe(0);
  });
});
