import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UserInputError } from '@duel/core';

/**
 * The saved generator of a run that `--generator` names: `generator/` (the
 * last step's) unless another is asked for, such as `generator-ema/` or an
 * epoch's, `generators/epoch-0100/`.
 */
export function generatorDirOf(runDir: string, name = 'generator'): string {
  if (!/^[a-z][a-z0-9-]*(\/[a-z0-9][a-z0-9-]*)?$/.test(name)) {
    throw new UserInputError(`--generator ${name}: expected a folder of the run, such as generator, generator-ema or generators/epoch-0010`);
  }
  const dir = join(resolve(runDir), name);
  if (!existsSync(join(dir, 'model.json'))) {
    const why =
      name === 'generator'
        ? 'is the run finished?'
        : 'is the run finished, and did it save one (generator-ema needs the ema-generator callback, generators/epoch-N the generator-snapshots callback)?';
    throw new UserInputError(`${runDir}: no saved generator ${name}/model.json; ${why}`);
  }
  return dir;
}
