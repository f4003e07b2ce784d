import type { LearningRateSchedule } from '@duel/core';
import { z } from 'zod';

/** A learning-rate schedule as an optimizer option: `schedule: { kind: ..., ... }`. Applied per epoch. */
export const scheduleSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('constant') }).strict(),
  z
    .object({
      kind: z.literal('step'),
      /** Multiply the rate by `factor` every `everyEpochs` epochs. */
      everyEpochs: z.number().int().positive(),
      /** @default 0.5 */
      factor: z.number().positive().default(0.5),
    })
    .strict(),
  z
    .object({
      kind: z.literal('exponential'),
      /** rate = base * decay^epoch. */
      decay: z.number().positive().max(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('cosine'),
      /** The rate at the last epoch. @default 0 */
      minRate: z.number().min(0).default(0),
    })
    .strict(),
  z
    .object({
      kind: z.literal('linear-warmup'),
      /** Epochs over which the rate climbs linearly to the base rate (epoch 0 gets base / warmupEpochs). */
      warmupEpochs: z.number().int().positive(),
    })
    .strict(),
]);
export type ScheduleOptions = z.output<typeof scheduleSchema>;

/** A schedule that also sees the run's length (cosine needs it). */
export interface EpochSchedule extends LearningRateSchedule {
  rate(epoch: number, baseRate: number, totalEpochs?: number): number;
}

/** Builds the schedule an optimizer applies in `beginEpoch` (epochs 0-based). */
export function makeSchedule(options: ScheduleOptions): EpochSchedule {
  switch (options.kind) {
    case 'constant':
      return { rate: (_epoch, base) => base };
    case 'step':
      return { rate: (epoch, base) => base * options.factor ** Math.floor(epoch / options.everyEpochs) };
    case 'exponential':
      return { rate: (epoch, base) => base * options.decay ** epoch };
    case 'cosine':
      return {
        rate: (epoch, base, total) => {
          const span = Math.max(1, (total ?? 1) - 1);
          const progress = Math.min(1, epoch / span);
          return options.minRate + (base - options.minRate) * 0.5 * (1 + Math.cos(Math.PI * progress));
        },
      };
    case 'linear-warmup':
      return { rate: (epoch, base) => base * Math.min(1, (epoch + 1) / options.warmupEpochs) };
  }
}
