import type { Network } from '@duel/core';

const group = (n: number) => n.toLocaleString('en-US');

/**
 * A Keras-style summary of any tfjs network: layer, type, output shape and
 * parameters, with trainable / non-trainable totals.
 */
export function describeNetwork(title: string, network: Network): string {
  const rows = network.layers.map((layer) => {
    const shape = layer.outputShape;
    const text = Array.isArray(shape[0]) ? (shape as unknown[]).map((s) => `(${String(s).replace(/^,|null/g, 'None')})`).join(' ') : `(${(shape as (number | null)[]).map((d) => (d === null ? 'None' : d)).join(', ')})`;
    return [`${layer.name} (${layer.getClassName()})`, text, group(layer.countParams())];
  });
  const widths = [Math.max(28, ...rows.map((r) => r[0]!.length)), Math.max(20, ...rows.map((r) => r[1]!.length)), 12];
  const line = (cells: string[]) => cells.map((c, i) => (i === 2 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b + 2, -2));
  const count = (weights: Network['weights']) => weights.reduce((sum, w) => sum + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);
  const trainable = count(network.trainableWeights);
  const fixed = count(network.nonTrainableWeights);
  return [
    title,
    rule,
    line(['Layer (type)', 'Output shape', 'Param #']),
    rule.replace(/-/g, '='),
    ...rows.map(line),
    rule.replace(/-/g, '='),
    `Total params: ${group(trainable + fixed)}`,
    `Trainable params: ${group(trainable)}`,
    `Non-trainable params: ${group(fixed)}`,
  ].join('\n');
}
