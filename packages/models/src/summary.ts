import type * as tf from '@tensorflow/tfjs';

/** One layer of a network summary. */
export interface SummaryRow {
  layer: string;
  type: string;
  /** Keras style, batch as None: "(None, 32, 32, 64)". */
  outputShape: string;
  params: number;
}

/** A network's layers and parameter counts, as `pnpm duel describe` prints them. */
export interface NetworkSummary {
  name: string;
  rows: SummaryRow[];
  totalParams: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** The Keras-style table. */
  text: string;
}

function formatShape(shape: tf.Shape | tf.Shape[]): string {
  const one = (s: tf.Shape) => `(${s.map((d) => (d == null ? 'None' : String(d))).join(', ')})`;
  return Array.isArray(shape[0]) ? (shape as tf.Shape[]).map(one).join(', ') : one(shape as tf.Shape);
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

const count = (n: number) => n.toLocaleString('en-US');

/**
 * Summarises a network layer by layer, Keras style. Parameter counts include
 * BatchNorm's moving statistics (non-trainable), as Keras counts them.
 */
export function summary(model: tf.LayersModel): NetworkSummary {
  const rows: SummaryRow[] = model.layers.map((layer) => ({
    layer: layer.name,
    type: layer.getClassName(),
    outputShape: formatShape(layer.outputShape),
    params: layer.countParams(),
  }));
  const trainableParams = model.trainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
  const nonTrainableParams = model.nonTrainableWeights.reduce((n, w) => n + size(w.shape as number[]), 0);
  const totalParams = trainableParams + nonTrainableParams;

  const headers = ['Layer (type)', 'Output Shape', 'Param #'];
  const cells = rows.map((r) => [`${r.layer} (${r.type})`, r.outputShape, count(r.params)]);
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => ` ${c[0]!.padEnd(widths[0]!)}   ${c[1]!.padEnd(widths[1]!)}   ${c[2]!.padStart(widths[2]!)}`;
  const ruleLength = widths.reduce((a, b) => a + b, 0) + 7;
  const text = [
    `Model: "${model.name}"`,
    '_'.repeat(ruleLength),
    line(headers),
    '='.repeat(ruleLength),
    ...cells.map(line),
    '='.repeat(ruleLength),
    `Total params: ${count(totalParams)}`,
    `Trainable params: ${count(trainableParams)}`,
    `Non-trainable params: ${count(nonTrainableParams)}`,
  ].join('\n');
  return { name: model.name, rows, totalParams, trainableParams, nonTrainableParams, text };
}
