import { describe, expect, it } from 'vitest';
import { MLFLOW_LIMITS, flattenParams, sanitizeKey, truncateValue } from './flatten';

describe('flattenParams', () => {
  it('gives dot paths, whole plain arrays and indexed object arrays', () => {
    const params = flattenParams({
      name: 'dcgan',
      seed: 42,
      trainer: { epochs: 300, dropRemainder: true, stepsPerEpoch: null },
      model: { generator: { type: 'dcgan-generator', options: { filters: [512, 256, 128] } } },
      callbacks: [{ type: 'sample-grid', options: { every: 5 } }, { type: 'early-stop', options: {} }],
      plugins: [],
    });
    expect(params).toEqual({
      name: 'dcgan',
      seed: '42',
      'trainer.epochs': '300',
      'trainer.dropRemainder': 'true',
      'trainer.stepsPerEpoch': 'null',
      'model.generator.type': 'dcgan-generator',
      'model.generator.options.filters': '[512,256,128]',
      'callbacks.0.type': 'sample-grid',
      'callbacks.0.options.every': '5',
      'callbacks.1.type': 'early-stop',
      'callbacks.1.options': '{}',
      plugins: '[]',
    });
  });

  it('shortens values over the server limit with a visible marker', () => {
    const long = 'a'.repeat(7000);
    const value = flattenParams({ description: long }).description!;
    expect(value.length).toBe(MLFLOW_LIMITS.paramValueLength);
    expect(value.endsWith('...[truncated: 7000 chars]')).toBe(true);
    expect(value.startsWith('aaaa')).toBe(true);
    expect(flattenParams({ description: 'a'.repeat(6000) }).description).toBe('a'.repeat(6000));
  });
});

describe('sanitizeKey', () => {
  it('keeps names MLflow accepts and replaces the rest', () => {
    expect(sanitizeKey('optimizers.generator.options.learningRate')).toBe('optimizers.generator.options.learningRate');
    expect(sanitizeKey('loss/d real:acc')).toBe('loss/d real:acc');
    expect(sanitizeKey('fid@10k(%)')).toBe('fid_10k___');
    expect(sanitizeKey('a//b/./c/..')).toBe('a/b/c/__');
  });
  it('shortens keys over 250 chars to distinct names', () => {
    const a = sanitizeKey(`${'k'.repeat(300)}a`);
    const b = sanitizeKey(`${'k'.repeat(300)}b`);
    expect(a.length).toBeLessThanOrEqual(250);
    expect(a).not.toBe(b);
  });
});

describe('truncateValue', () => {
  it('leaves short values alone', () => {
    expect(truncateValue('abc', 10)).toBe('abc');
  });
});
