import { definePlugin } from '@duel/core';
import type { BuiltNetwork, NetworkContext } from '@duel/core';
import { checkImageShape, createDiscriminator, createGenerator, discriminatorOptionsSchema, generatorOptionsSchema } from './dcgan';

/** The book's DCGAN generator (Foster, "Generative Deep Learning", 2nd ed., ch. 4). */
export const dcganGenerator = definePlugin<typeof generatorOptionsSchema, BuiltNetwork, NetworkContext>({
  kind: 'generator',
  name: 'dcgan-generator',
  description: "The book's DCGAN generator: 4x4 transposed convolutions, BatchNorm, LeakyReLU, tanh (32, 64 or 128 px).",
  options: generatorOptionsSchema,
  check: (_options, env) => checkImageShape(env.imageShape),
  create: createGenerator,
});

/** The book's DCGAN discriminator (Foster, "Generative Deep Learning", 2nd ed., ch. 4). */
export const dcganDiscriminator = definePlugin<typeof discriminatorOptionsSchema, BuiltNetwork, NetworkContext>({
  kind: 'discriminator',
  name: 'dcgan-discriminator',
  description: "The book's DCGAN discriminator: 4x4 stride-2 convolutions, BatchNorm, LeakyReLU, dropout, sigmoid or logit.",
  options: discriminatorOptionsSchema,
  outputOf: (options) => options.output,
  check: (_options, env) => checkImageShape(env.imageShape),
  create: createDiscriminator,
});
