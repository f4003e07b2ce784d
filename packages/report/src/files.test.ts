import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOptionalJson, readOptionalJsonl } from './files';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'duel-report-files-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readOptionalJsonl', () => {
  it('is undefined for a missing file', async () => {
    expect(await readOptionalJsonl(join(dir, 'absent.jsonl'))).toBeUndefined();
  });

  it('skips blank lines and a half-written last line', async () => {
    const file = join(dir, 'growing.jsonl');
    await writeFile(file, '{"epoch":1}\n\n{"epoch":2}\n{"epoch":3,"d_lo');
    expect(await readOptionalJsonl(file)).toEqual([{ epoch: 1 }, { epoch: 2 }]);
  });

  it('names the file and line of a bad line in the middle', async () => {
    const file = join(dir, 'bad.jsonl');
    await writeFile(file, '{"epoch":1}\nnot json\n{"epoch":3}\n');
    await expect(readOptionalJsonl(file)).rejects.toMatchObject({ name: 'UserInputError', message: expect.stringContaining(`${file}:2:`) });
  });

  it('rejects a line that is not an object', async () => {
    const file = join(dir, 'array.jsonl');
    await writeFile(file, '[1,2]\n');
    await expect(readOptionalJsonl(file)).rejects.toThrow(`${file}:1: expected a JSON object`);
  });
});

describe('readOptionalJson', () => {
  it('names the file of bad JSON', async () => {
    const file = join(dir, 'run.json');
    await writeFile(file, '{"status":');
    await expect(readOptionalJson(file)).rejects.toThrow(`${file}: not valid JSON`);
  });
});
