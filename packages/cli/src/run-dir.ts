import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserInputError } from '@duel/core';

/**
 * The saved generator of a run that `--generator` names: `generator/` (the
 * last step's) unless another is asked for, such as `generator-ema/`.
 */
export function generatorDirOf(runDir: string, name = 'generator'): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new UserInputError(`--generator ${name}: expected a folder name of the run, such as generator or generator-ema`);
  const dir = join(resolve(runDir), name);
  if (!existsSync(join(dir, 'model.json'))) {
    const why = name === 'generator' ? 'is the run finished?' : `is the run finished, and did it save one (generator-ema needs the ema-generator callback)?`;
    throw new UserInputError(`${runDir}: no saved generator ${name}/model.json; ${why}`);
  }
  return dir;
}
