import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { autoBackend, cpuBackend, tensorflowBackend, wasmBackend } from './backends';

/** Binds the backends: `auto` (the default), `tensorflow`, `wasm`, `cpu`. */
export const engineModule = new ContainerModule(({ bind }) => {
  bind(PluginToken).toConstantValue(autoBackend);
  bind(PluginToken).toConstantValue(tensorflowBackend);
  bind(PluginToken).toConstantValue(wasmBackend);
  bind(PluginToken).toConstantValue(cpuBackend);
});
