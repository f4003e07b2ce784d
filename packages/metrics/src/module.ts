import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { domainClassifierExtractor } from './domain-classifier';
import { evaluationCallback } from './evaluation-callback';
import { inceptionExtractor } from './inception';

/** Binds the metrics plugins: two extractors and the evaluation callback. */
export const metricsModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(domainClassifierExtractor);
  bind(PluginToken).toConstantValue(inceptionExtractor);
  bind(PluginToken).toConstantValue(evaluationCallback);
});
