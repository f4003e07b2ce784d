import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { fashionMnist } from './fashion-mnist';
import { imageFolder } from './image-folder';

/** Binds the data sources: `image-folder` and `fashion-mnist`. */
export const dataModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(imageFolder);
  bind(PluginToken).toConstantValue(fashionMnist);
});
