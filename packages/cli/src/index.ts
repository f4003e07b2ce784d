/**
 * @duel/cli as a library: what the commands call, for programs and notebooks.
 * `train()` runs one experiment (a file or an object) with any extra plugin
 * modules; `runSweep()` a sweep; `loadExperiment()` validates without training.
 */
export { train, activateBackend, createExtractor, cacheRoot, readResolvedExperiment, type TrainRequest, type TrainResult, type CallbackContext } from './run';
export { loadExperiment, buildCatalogue, builtinModules, pluginsModule, loadPluginFile, type ExperimentSource } from './assemble';
export { runSweep, loadSweep, expandTrials, writeResults, sweepSchema, type SweepRequest, type SweepFile, type Trial } from './sweep';
export { evaluateRun, type EvaluateRunOptions } from './evaluate';
export { DEFAULT_EXPERIMENT } from './default-experiment';
