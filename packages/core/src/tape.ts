import * as tf from '@tensorflow/tfjs';

/**
 * Gradients of several scalars, each over its own variables, from ONE
 * recorded forward pass.
 *
 * Why: the book's simultaneous step takes d_loss's gradient over D's weights
 * and g_loss's over G's weights from the same forward pass (two GradientTapes
 * in Keras). `tf.variableGrads` records a tape per scalar, which would run G,
 * the most expensive network, twice. tfjs' engine already records every op on
 * its tape; this walks that tape once per target, pruned to the ops between
 * the target's variables and its scalar, so the second pass only does the work
 * it needs (no filter gradients of D for g_loss, nothing of G for d_loss).
 *
 * It uses the engine's tape fields (`startTape`, `endTape`, `state.activeTape`,
 * tape nodes `{inputs, outputs, gradient, saved}`), stable across tfjs 4.x; a
 * unit test checks the result against `tf.variableGrads`.
 */
export interface GradientTarget {
  readonly loss: tf.Scalar;
  readonly variables: readonly tf.Variable[];
}

interface TapeNode {
  id: number;
  kernelName: string;
  inputs: Record<string, tf.Tensor>;
  outputs: tf.Tensor[];
  gradient?: (dys: (tf.Tensor | null)[]) => Record<string, () => tf.Tensor>;
  saved?: tf.Tensor[];
}

interface EngineInternals {
  startTape(): void;
  endTape(): void;
  tidy<T extends tf.TensorContainer>(name: string, fn: () => T): T;
  state: { activeTape: TapeNode[] | null; gradientDepth: number };
}

function engine(): EngineInternals {
  const e = tf.engine() as unknown as EngineInternals;
  if (typeof e.startTape !== 'function' || typeof e.endTape !== 'function' || !('state' in e)) {
    throw new Error('This tfjs version does not expose the gradient tape duel needs (tfjs 4.x expected).');
  }
  return e;
}

/** The tape nodes that depend on `sources` and lead to `target`, inputs pruned to those paths. */
function pathNodes(tape: readonly TapeNode[], sources: readonly tf.Tensor[], target: tf.Tensor): TapeNode[] {
  const fromSources = new Set<number>(sources.map((s) => s.id));
  const nodeFromSources = new Set<number>();
  for (const node of tape) {
    if (Object.values(node.inputs).some((input) => fromSources.has(input.id))) {
      nodeFromSources.add(node.id);
      for (const output of node.outputs) fromSources.add(output.id);
    }
  }
  const toTarget = new Set<number>([target.id]);
  const nodeToTarget = new Set<number>();
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    if (node.outputs.some((output) => toTarget.has(output.id))) {
      nodeToTarget.add(node.id);
      for (const input of Object.values(node.inputs)) toTarget.add(input.id);
    }
  }
  const path: TapeNode[] = [];
  for (const node of tape) {
    if (!nodeFromSources.has(node.id) || !nodeToTarget.has(node.id)) continue;
    const inputs: Record<string, tf.Tensor> = {};
    for (const [name, input] of Object.entries(node.inputs)) if (fromSources.has(input.id)) inputs[name] = input;
    path.push({ ...node, inputs });
  }
  return path;
}

function backward(path: readonly TapeNode[], target: tf.Scalar, variables: readonly tf.Variable[]): tf.Tensor[] {
  const grads = new Map<number, tf.Tensor>([[target.id, tf.onesLike(target)]]);
  for (let i = path.length - 1; i >= 0; i--) {
    const node = path[i]!;
    const dys = node.outputs.map((output) => grads.get(output.id) ?? null);
    if (dys.every((dy) => dy === null)) continue;
    if (!node.gradient) {
      // Comparisons and other non-float outputs carry no gradient (zero by definition);
      // they reach the path in second-order gradients (LeakyReLU's gradient uses Greater).
      if (node.outputs.every((output) => output.dtype !== 'float32')) continue;
      throw new Error(`No gradient is registered for the op ${node.kernelName}.`);
    }
    const inputGrads = node.gradient(dys);
    for (const [name, input] of Object.entries(node.inputs)) {
      const compute = inputGrads[name];
      if (!compute) throw new Error(`The gradient of ${node.kernelName} has no input '${name}'.`);
      const dx = tf.tidy(compute);
      const previous = grads.get(input.id);
      if (previous) {
        grads.set(input.id, tf.add(previous, dx));
        previous.dispose();
        dx.dispose();
      } else {
        grads.set(input.id, dx);
      }
    }
  }
  return variables.map((variable) => {
    const grad = grads.get(variable.id);
    if (!grad) throw new Error(`The loss does not depend on the variable ${variable.name}.`);
    return grad;
  });
}

/**
 * Runs `forward` once on a recorded tape and returns its outputs with the
 * gradient of each target's loss over that target's variables.
 *
 * @param forward returns the named outputs; `targets(outputs)` picks each loss and its variables.
 */
export function gradientsFromOneForward<T extends Record<string, tf.Tensor>>(
  forward: () => T,
  targets: (outputs: T) => readonly GradientTarget[],
): { outputs: T; grads: tf.Tensor[][] } {
  const e = engine();
  e.startTape();
  let outputs: T;
  try {
    outputs = e.tidy('forward', forward);
  } finally {
    e.endTape();
  }
  const tape = e.state.activeTape ?? [];
  try {
    const grads = tf.tidy(() =>
      targets(outputs).map((target) => backward(pathNodes(tape, target.variables, target.loss), target.loss, target.variables)),
    );
    return { outputs, grads };
  } finally {
    if (e.state.gradientDepth === 0) {
      for (const node of tape) for (const saved of node.saved ?? []) saved.dispose();
      e.state.activeTape = null;
    }
  }
}
