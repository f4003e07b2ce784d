import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { adam, rmsprop, sgd } from './plugins';

export * from './adam';
export * from './base';
export * from './plugins';
export * from './rmsprop';
export * from './schedules';
export * from './sgd';

/** Binds the optimizer plugins. */
export const optimModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(adam);
  bind(PluginToken).toConstantValue(rmsprop);
  bind(PluginToken).toConstantValue(sgd);
});
