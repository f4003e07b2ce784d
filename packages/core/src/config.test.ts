import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { PluginCatalogue } from './catalogue';
import { deepMerge, loadExperimentDocument, parseEnvelope, parseOverride, resolveExperiment, settingLabel } from './config';
import { UserInputError } from './errors';
import { definePlugin } from './plugin';

const dir = () => mkdtempSync(join(tmpdir(), 'duel-config-'));

describe('deepMerge', () => {
  it('merges objects, replaces lists, and replaces a part whose plugin type changes', () => {
    expect(deepMerge({ a: { b: 1, c: 2 }, l: [1, 2] }, { a: { c: 3 }, l: [9] })).toEqual({ a: { b: 1, c: 3 }, l: [9] });
    expect(deepMerge({ type: 'bce-label-noise', options: { noise: 0.1 } }, { options: { noise: 0.2 } })).toEqual({ type: 'bce-label-noise', options: { noise: 0.2 } });
    expect(deepMerge({ type: 'bce-label-noise', options: { noise: 0.1 } }, { type: 'hinge' })).toEqual({ type: 'hinge' });
  });
});

describe('--set', () => {
  it('types values as YAML and swaps a plugin with its options', () => {
    expect(parseOverride('trainer.epochs=5')).toEqual({ path: ['trainer', 'epochs'], value: 5 });
    expect(parseOverride('trainer.dropRemainder=false').value).toBe(false);
    expect(parseOverride('seeds=[1, 2]').value).toEqual([1, 2]);
    expect(parseOverride('name=a=b').value).toBe('a=b');
    expect(() => parseOverride('novalue')).toThrow(UserInputError);
    const doc = loadExperimentDocument({ document: { loss: { type: 'bce-label-noise', options: { noise: 0.1 } }, callbacks: [{ type: 'x' }] } }, ['loss.type=hinge', 'callbacks.0.options.every=2']);
    expect(doc).toEqual({ loss: { type: 'hinge' }, callbacks: [{ type: 'x', options: { every: 2 } }] });
  });
});

describe('extends', () => {
  it('inherits, overrides, resolves plugin files against the file naming them, and detects cycles', () => {
    const d = dir();
    writeFileSync(join(d, 'base.yaml'), 'name: base\nplugins: [./p.ts]\ntrainer: { epochs: 3, batchSize: 16 }\n');
    writeFileSync(join(d, 'child.yaml'), 'extends: ./base.yaml\nname: child\ntrainer: { epochs: 5 }\n');
    expect(loadExperimentDocument({ file: join(d, 'child.yaml') })).toEqual({ name: 'child', plugins: [join(d, 'p.ts')], trainer: { epochs: 5, batchSize: 16 } });
    writeFileSync(join(d, 'a.yaml'), 'extends: ./b.yaml\n');
    writeFileSync(join(d, 'b.yaml'), 'extends: ./a.yaml\n');
    expect(() => loadExperimentDocument({ file: join(d, 'a.yaml') })).toThrow(/circular extends: .*a\.yaml -> .*b\.yaml -> .*a\.yaml/);
  });
});

describe('resolveExperiment', () => {
  const noisy = definePlugin({ kind: 'loss', name: 'noisy', description: '', options: z.object({ noise: z.number().min(0).default(0.1) }).strict(), expects: 'probability', create: () => ({}) });
  const logits = definePlugin({ kind: 'loss', name: 'logits', description: '', options: z.object({}).strict(), expects: 'logit', create: () => ({}) });
  const data = definePlugin({ kind: 'data', name: 'd', description: '', options: z.object({ size: z.number().default(32) }).strict(), imageShape: (o) => ({ height: o.size, width: o.size, channels: 1 }), create: () => ({}) });
  const gen = definePlugin({ kind: 'generator', name: 'g', description: '', options: z.object({}).strict(), check: (_o, env) => (env.imageShape!.height === 48 ? ['imageSize 48 is not supported'] : []), create: () => ({}) });
  const disc = definePlugin({ kind: 'discriminator', name: 'dd', description: '', options: z.object({ output: z.enum(['probability', 'logit']).default('probability') }).strict(), outputOf: (o) => o.output, create: () => ({}) });
  const opt = definePlugin({ kind: 'optimizer', name: 'o', description: '', options: z.object({ learningRate: z.number().positive() }).strict(), create: () => ({}) });
  const other = (kind: 'backend' | 'tracker', name: string) => definePlugin({ kind, name, description: '', options: z.object({}).strict(), create: () => ({}) });
  const catalogue = new PluginCatalogue([noisy, logits, data, gen, disc, opt, other('backend', 'auto'), other('tracker', 'local')]);
  const base = {
    data: { type: 'd' },
    model: { generator: { type: 'g' }, discriminator: { type: 'dd' } },
    optimizers: { generator: { type: 'o', options: { learningRate: 1 } }, discriminator: { type: 'o', options: { learningRate: 1 } } },
    loss: { type: 'noisy' },
  };
  const problems = (doc: Record<string, unknown>) => {
    try {
      resolveExperiment(parseEnvelope(doc as never, 'x.yaml'), catalogue, { file: 'x.yaml', baseDir: '.' });
    } catch (error) {
      return (error as UserInputError).issues;
    }
    return [];
  };

  it('fills defaults into every part', () => {
    const resolved = resolveExperiment(parseEnvelope(base as never, 'x'), catalogue, { baseDir: '.' });
    expect(resolved.experiment.loss).toEqual({ type: 'noisy', options: { noise: 0.1 } });
    expect(resolved.imageShape).toEqual({ height: 32, width: 32, channels: 1 });
  });

  it('reports every problem at once, each with its path', () => {
    const issues = problems({
      ...base,
      data: { type: 'd', options: { size: 48 } },
      loss: { type: 'noisy', options: { noise: '0.1x' } },
      optimizers: { generator: { type: 'o', options: { learningRate: -1 } }, discriminator: { type: 'adamw' } },
    });
    expect(issues).toEqual([
      { path: 'loss.options.noise', message: 'expected number, got "0.1x"' },
      { path: 'optimizers.generator.options.learningRate', message: 'expected number > 0, got -1' },
      { path: 'optimizers.discriminator.type', message: "unknown optimizer 'adamw'; valid: o" },
      { path: 'model.generator.options', message: 'imageSize 48 is not supported' },
    ]);
  });

  it('checks that the loss and the discriminator agree on what D outputs', () => {
    expect(problems({ ...base, loss: { type: 'logits' } })).toEqual([
      { path: 'loss.type', message: expect.stringContaining("'logits' expects a discriminator that outputs logits") },
    ]);
    expect(problems({ ...base, loss: { type: 'logits' }, model: { ...base.model, discriminator: { type: 'dd', options: { output: 'logit' } } } })).toEqual([]);
  });
});

describe('settingLabel', () => {
  it('names a part by its type, a list of parts by their types, and anything else as it reads', () => {
    expect(settingLabel({ type: 'hinge', options: {} })).toBe('hinge');
    expect(settingLabel([{ type: 'diffaugment' }, { type: 'instance-noise', options: { sigma: 0.1 } }])).toBe('diffaugment+instance-noise');
    expect(settingLabel([])).toBe('none');
    expect(settingLabel(0.05)).toBe('0.05');
    expect(settingLabel({ sigma: 1 })).toBe('{"sigma":1}');
  });
});
