import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserInputError } from '@duel/core';
import { commands } from './commands';

const HELP = `duel: train GANs from declarative experiment files

Usage: pnpm duel <command> [options]

Commands:
  train [experiment]         train (no file: the embedded default, Fashion-MNIST)
      --out DIR              run directory (default runs/<name>-<time>)
      --resume DIR           continue a run from its latest valid checkpoint
      --set path=value       override a field (repeatable; typed: numbers, booleans, [lists])
      --dry-run              print the fully resolved experiment and exit
  describe [experiment]      the resolved experiment and a summary of both networks
  sample <run-dir>           draw from a trained generator
      --n N --seed S --out grid.png
      --generator NAME       which saved generator (default generator; generator-ema, generators/epoch-0010)
  sweep <sweep-file>         an ablation sweep over a base experiment
      --out DIR --resume DIR --parallel N --dry-run --sort METRIC
  evaluate <run-dir>         quality metrics of a trained generator
      --metrics fid,kid,pr --n N --extractor NAME --generator NAME
  report <run-dir|sweep-dir> one self-contained HTML page (--out FILE)
  sync <run-dir>             send a run's queued metrics/artifacts to its MLflow server
  plugins                    every plugin by kind, with its description

Exit codes: 0 done, 1 failed, 2 bad input (experiment, data, folder), 130 interrupted.`;

const options = {
  help: { type: 'boolean', short: 'h' },
  out: { type: 'string', short: 'o' },
  resume: { type: 'string' },
  set: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
  'dry-run': { type: 'boolean' },
  n: { type: 'string' },
  seed: { type: 'string' },
  parallel: { type: 'string' },
  sort: { type: 'string' },
  metrics: { type: 'string' },
  extractor: { type: 'string' },
  generator: { type: 'string' },
  'parent-run-id': { type: 'string' },
  'run-name': { type: 'string' },
} satisfies ParseArgsConfig['options'];

export type CliValues = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n\n${HELP}\n`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (parsed.values.help || !command || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return command || parsed.values.help ? 0 : 2;
  }
  const run = commands[command];
  if (!run) {
    process.stderr.write(`unknown command '${command}'; commands: ${Object.keys(commands).join(', ')}\n`);
    return 2;
  }
  return run(rest, parsed.values);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UserInputError) {
      process.stderr.write(`error: ${error.message}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
