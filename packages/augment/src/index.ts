import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { diffAugment } from './diffaugment';
import { instanceNoise } from './instance-noise';

export { DiffAugment, diffAugment, diffAugmentOptions, DIFF_AUGMENT_POLICIES, type DiffAugmentOptions, type DiffAugmentPolicy } from './diffaugment';
export { InstanceNoise, instanceNoise, instanceNoiseOptions, instanceNoiseSigma, type InstanceNoiseOptions } from './instance-noise';

/** The discriminator-input augmentations, in the order `duel plugins` lists them. */
export const augmentPlugins = [diffAugment, instanceNoise] as const;

/** Binds the augmentation plugins. */
export const augmentModule = new ContainerModule(({ bind }) => {
  for (const plugin of augmentPlugins) bind(PluginToken).toConstantValue(plugin);
});
