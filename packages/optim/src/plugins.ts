import { definePlugin } from '@duel/core';
import type { Optimizer } from '@duel/core';
import { Adam, adamOptions } from './adam';
import { Rmsprop, rmspropOptions } from './rmsprop';
import { Sgd, sgdOptions } from './sgd';

/** Adam with Keras 3's update rule (the book: lr 2e-4, beta1 0.5, beta2 0.999). */
export const adam = definePlugin({
  kind: 'optimizer',
  name: 'adam',
  description: "Adam, Keras 3's update rule (epsilon outside the root, bias correction in the step size).",
  options: adamOptions,
  create: (options): Optimizer => new Adam(options),
});

/** RMSprop with Keras 3's update rule. */
export const rmsprop = definePlugin({
  kind: 'optimizer',
  name: 'rmsprop',
  description: "RMSprop, Keras 3's update rule (epsilon inside the root; optional momentum, centered).",
  options: rmspropOptions,
  create: (options): Optimizer => new Rmsprop(options),
});

/** SGD with Keras 3's update rule. */
export const sgd = definePlugin({
  kind: 'optimizer',
  name: 'sgd',
  description: "SGD, Keras 3's update rule (optional momentum, Nesterov).",
  options: sgdOptions,
  create: (options): Optimizer => new Sgd(options),
});
