import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { diagnostics } from './diagnostics';
import { earlyStop } from './early-stop';
import { memorisation } from './memorisation';
import { sampleGrid } from './sample-grid';

export { sampleGrid, sampleGridOptions, writeSampleGrid } from './sample-grid';
export { memorisation, memorisationOptions } from './memorisation';
export { earlyStop, earlyStopOptions } from './early-stop';
export { diagnostics, diagnosticsOptions, type DiagnosticsContext } from './diagnostics';

/** The upkeep callbacks: sample grids, the memorisation check, early stop, diagnostics. */
export const callbacksModule = new ContainerModule(({ bind }) => {
  for (const plugin of [sampleGrid, memorisation, earlyStop, diagnostics]) bind(PluginToken).toConstantValue(plugin);
});
