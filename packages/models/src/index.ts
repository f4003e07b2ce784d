import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { dcganDiscriminator, dcganGenerator } from './plugins';

export * from './dcgan';
export { FusedBatchNormalization, PlainConv2D } from './fast-layers';
export * from './plugins';
export * from './seeded-dropout';
export * from './spectral-norm-conv';
export * from './summary';

/** Binds the model plugins (generators and discriminators). */
export const modelsModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(dcganGenerator);
  bind(PluginToken).toConstantValue(dcganDiscriminator);
});
