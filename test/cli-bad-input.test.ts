import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';

const fixtures = join(__dirname, 'fixtures', 'bad-experiments');
const expected = JSON.parse(readFileSync(join(fixtures, 'expected.json'), 'utf8')) as Record<string, string>;

describe('malformed experiment files', () => {
  it('has a fixture for every expectation and at least 20 of them', () => {
    const files = readdirSync(fixtures).filter((f) => f !== 'expected.json' && f !== 'circular-b.yaml');
    expect(files.sort()).toEqual(Object.keys(expected).sort());
    expect(files.length).toBeGreaterThanOrEqual(20);
  });

  // Several processes at once: each is a full `duel train` start-up.
  it.concurrent.each(Object.entries(expected))('%s exits 2 naming the problem, before any training', async (file, message) => {
    const out = join(mkdtempSync(join(tmpdir(), 'duel-bad-')), 'run');
    const result = await duel(['train', join(fixtures, file), '--out', out]);
    expect(result.stderr).toContain(message);
    expect(result.code).toBe(2);
    expect(result.stderr).not.toMatch(/epoch \d+\/|backend: /);
    expect(existsSync(out)).toBe(false);
  });
});
