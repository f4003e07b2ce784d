import { ContainerModule } from 'inversify';
import { PluginToken } from '@duel/core';
import { diagnostics } from './diagnostics';
import { earlyStop } from './early-stop';
import { emaGenerator } from './ema-generator';
import { generatorSnapshots } from './generator-snapshots';
import { memorisation } from './memorisation';
import { sampleGrid } from './sample-grid';

export { sampleGrid, sampleGridOptions, writeSampleGrid } from './sample-grid';
export { memorisation, memorisationOptions } from './memorisation';
export { earlyStop, earlyStopOptions } from './early-stop';
export { EmaGenerator, emaGenerator, emaGeneratorOptions, withWeights, type EmaGeneratorOptions } from './ema-generator';
export { diagnostics, diagnosticsOptions, type DiagnosticsContext } from './diagnostics';
export { generatorSnapshots, generatorSnapshotsOptions, generatorSnapshotName } from './generator-snapshots';

/** The upkeep callbacks: sample grids, the memorisation check, early stop, diagnostics, the EMA generator, generator snapshots. */
export const callbacksModule = new ContainerModule(({ bind }) => {
  for (const plugin of [sampleGrid, memorisation, earlyStop, diagnostics, emaGenerator, generatorSnapshots]) bind(PluginToken).toConstantValue(plugin);
});
