import { z } from 'zod';
import { definePlugin, type Callback, type SavedState } from '@duel/core';

export const earlyStopOptions = z
  .object({
    /** The epoch metric to watch. @default 'g_loss' */
    monitor: z.string().default('g_loss'),
    /** Whether smaller or larger is better. @default 'min' */
    mode: z.enum(['min', 'max']).default('min'),
    /** Epochs without improvement before stopping. @default 10 */
    patience: z.number().int().positive().default(10),
    /** Smallest change that counts as improvement. @default 0 */
    minDelta: z.number().nonnegative().default(0),
  })
  .strict();

/** Stops training when a metric stops improving. */
export const earlyStop = definePlugin({
  kind: 'callback',
  name: 'early-stop',
  description: 'stop when a metric has not improved for `patience` epochs',
  options: earlyStopOptions,
  create(options): Callback {
    let best: number | undefined;
    let since = 0;
    return {
      name: 'early-stop',
      // A resumed run counts on from where it stopped, and a rollback goes back
      // to the count of the epoch it returns to, as the history does.
      state: {
        saveState: (): SavedState => ({ data: { best: best ?? null, since } }),
        restoreState(state: SavedState) {
          const data = state.data as { best: number | null; since: number };
          best = data.best ?? undefined;
          since = data.since;
        },
      },
      onEpochEnd(view, metrics) {
        const value = metrics[options.monitor];
        if (value === undefined) {
          view.requestStop(`early-stop: the epoch metrics have no '${options.monitor}'`);
          return;
        }
        const better = best === undefined || (options.mode === 'min' ? value < best - options.minDelta : value > best + options.minDelta);
        if (better) {
          best = value;
          since = 0;
        } else if (++since >= options.patience) {
          view.requestStop(`early-stop: ${options.monitor} has not improved on ${best!.toFixed(4)} for ${options.patience} epochs`);
        }
      },
    };
  },
});
