import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { bceLabelNoise } from './bce-label-noise';
import { hinge } from './hinge';
import { leastSquares } from './least-squares';
import { nonSaturating } from './non-saturating';
import { oneSidedLabelSmoothing } from './one-sided-label-smoothing';
import { wganGp } from './wgan-gp';

export * from './bce';
export * from './bce-label-noise';
export * from './hinge';
export * from './least-squares';
export * from './non-saturating';
export * from './one-sided-label-smoothing';
export * from './wgan-gp';

/** Every loss plugin, in the order `duel plugins` lists them. */
export const lossPlugins = [bceLabelNoise, nonSaturating, oneSidedLabelSmoothing, hinge, leastSquares, wganGp] as const;

/** Binds the loss plugins. */
export const lossesModule = new ContainerModule(({ bind }) => {
  for (const plugin of lossPlugins) bind(PluginToken).toConstantValue(plugin);
});
