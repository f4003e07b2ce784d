import { z } from 'zod';

/** A swappable part in an experiment file: a plugin name and its options. */
export const partSchema = z
  .object({
    type: z.string().min(1, 'expected a plugin name'),
    options: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type Part = z.output<typeof partSchema>;

const part = (type: string, options: Record<string, unknown> = {}) => partSchema.default({ type, options });

/** How the trainer steps the two networks. */
export const trainerSchema = z
  .object({
    /** @default 300 (the book) */
    epochs: z.number().int().positive().default(300),
    /** @default 128 (the book) */
    batchSize: z.number().int().positive().default(128),
    /**
     * `simultaneous`: both gradients from one forward pass (the book's code).
     * `alternating`: D step, then a fresh fake batch through the updated D for the G step.
     * @default 'simultaneous'
     */
    updateMode: z.enum(['simultaneous', 'alternating']).default('simultaneous'),
    /** Discriminator steps per iteration (alternating mode). @default 1 */
    dSteps: z.number().int().positive().default(1),
    /** Generator steps per iteration (alternating mode). @default 1 */
    gSteps: z.number().int().positive().default(1),
    /** Cap on steps per epoch (a quick look at a big dataset); null = the whole dataset. */
    stepsPerEpoch: z.number().int().positive().nullable().default(null),
    /** Drop the last incomplete batch, as a fixed-shape step needs. @default true */
    dropRemainder: z.boolean().default(true),
    /** Read the running losses every N steps for the progress line (a device sync). @default 20 */
    logEvery: z.number().int().positive().default(20),
    /**
     * Write a resume checkpoint after every N epochs; one is always written at
     * the end, on an early stop and when interrupted. @default 1
     */
    checkpointEvery: z.number().int().positive().default(1),
    /** Rolling checkpoints kept on disk (snapshots such as `best` and `healthy-*` are apart). @default 2 */
    keepCheckpoints: z.number().int().positive().default(2),
  })
  .strict();
export type TrainerSettings = z.output<typeof trainerSchema>;

/** The envelope of an experiment file; each part's options are checked by its plugin. */
export const experimentSchema = z
  .object({
    name: z.string().min(1).default('experiment'),
    description: z.string().optional(),
    /** Seeds data order, latent vectors, label noise, dropout and initial weights. @default 42 */
    seed: z.number().int().nonnegative().default(42),
    /** Files (relative to the experiment) that export plugins to register. */
    plugins: z.array(z.string()).default([]),
    backend: part('auto'),
    data: partSchema,
    model: z
      .object({
        generator: part('dcgan-generator'),
        discriminator: part('dcgan-discriminator'),
      })
      .strict()
      .default({ generator: { type: 'dcgan-generator', options: {} }, discriminator: { type: 'dcgan-discriminator', options: {} } }),
    loss: part('bce-label-noise'),
    /** Transforms of every batch D sees, real and fake, applied in order (diffaugment, instance-noise). */
    augment: z.array(partSchema).default([]),
    optimizers: z
      .object({
        generator: part('adam', { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 }),
        discriminator: part('adam', { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 }),
      })
      .strict()
      .default({
        generator: { type: 'adam', options: { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 } },
        discriminator: { type: 'adam', options: { learningRate: 2e-4, beta1: 0.5, beta2: 0.999 } },
      }),
    trainer: trainerSchema.default(trainerSchema.parse({})),
    callbacks: z.array(partSchema).default([]),
    tracking: z.array(partSchema).default([{ type: 'local', options: {} }]),
  })
  .strict();

export type Experiment = z.output<typeof experimentSchema>;
