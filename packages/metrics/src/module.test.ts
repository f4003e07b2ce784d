import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { PluginCatalogue, PluginToken, type AnyPlugin } from '@duel/core';
import { metricsModule } from './module';

describe('metricsModule', () => {
  it('binds both extractors and the evaluation callback, with options that default', async () => {
    const container = new Container();
    await container.load(metricsModule);
    const plugins = container.getAll<AnyPlugin>(PluginToken);
    expect(plugins.map((p) => `${p.kind}:${p.name}`).sort()).toEqual(['callback:evaluation', 'extractor:domain-classifier', 'extractor:inception-v3']);
    const catalogue = new PluginCatalogue(plugins);
    const issues: { path: string; message: string }[] = [];
    const evaluation = catalogue.resolve('callback', { type: 'evaluation', options: { every: 5 } }, 'callbacks.0', issues);
    expect(issues).toEqual([]);
    expect(evaluation!.options).toMatchObject({ every: 5, samples: 1000, metrics: ['fid', 'kid', 'pr'], extractor: { type: 'domain-classifier', options: {} } });
    catalogue.resolve('extractor', { type: 'inception-v3', options: {} }, 'extractor', issues);
    catalogue.resolve('callback', { type: 'evaluation', options: { metrics: ['fid', 'is'], every: 0 } }, 'callbacks.1', issues);
    expect(issues.map((i) => i.path).sort()).toEqual(['callbacks.1.options.every', 'callbacks.1.options.metrics.1', 'extractor.options.path']);
  });
});
