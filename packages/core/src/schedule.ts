/**
 * Whether upkeep that runs every `every` epochs is due after `epoch`: on its
 * multiples, and always after the last epoch, so the end of a run is never
 * left out. `every` 0 means after the last epoch only.
 */
export function dueAfterEpoch(epoch: number, every: number, totalEpochs: number): boolean {
  return (every > 0 && epoch % every === 0) || epoch === totalEpochs;
}
