/**
 * Op-level timing of the convolutions in one DCGAN step (batch 128), with
 * the counts the simultaneous step runs them (see stepGflopsPerImage in
 * throughput.ts). Compares TensorFlow builds and settings on the exact
 * shapes that matter, in seconds rather than minutes:
 *   tsx bench/conv-ops.ts [--tfjs-node DIR] [--reps 3]
 * Prints one JSON line: {tf_version, total_ms, gflops_per_s, ops: [[name, shape, calls, ms per call]]}.
 */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({ options: { 'tfjs-node': { type: 'string' }, reps: { type: 'string', default: '3' }, batch: { type: 'string', default: '128' } } });
const require = createRequire(import.meta.url);
const loaded = require(args['tfjs-node'] ?? '@tensorflow/tfjs-node') as { backend(): { binding: { TF_Version: string } } };
await tf.setBackend('tensorflow');
const n = Number(args.batch);
const reps = Number(args.reps);

type Op = { name: string; shape: string; calls: number; flops: number; run: () => tf.Tensor };
const ops: Op[] = [];
const r = (shape: number[]) => tf.randomNormal(shape);
// D: conv (h, cin) -> (h/2, cout), 4x4 stride 2 same; then the last 4x4 valid conv to one unit.
const dLayers: [number, number, number][] = [[64, 1, 64], [32, 64, 128], [16, 128, 256], [8, 256, 512]];
for (const [h, cin, cout] of dLayers) {
  const x = r([n, h, h, cin]) as tf.Tensor4D;
  const w = r([4, 4, cin, cout]) as tf.Tensor4D;
  const dy = r([n, h / 2, h / 2, cout]) as tf.Tensor4D;
  const macs = n * (h / 2) * (h / 2) * cout * 16 * cin;
  const first = cin === 1;
  ops.push({ name: 'Conv2D (D fwd)', shape: `${h}x${h}x${cin}->${cout}`, calls: 2, flops: 2 * macs, run: () => tf.conv2d(x, w, 2, 'same') });
  ops.push({ name: 'BackpropFilter (D)', shape: `${h}x${h}x${cin}->${cout}`, calls: 2, flops: 2 * macs, run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, cin, cout] }) as tf.Tensor });
  ops.push({ name: 'BackpropInput (D)', shape: `${h}x${h}x${cin}->${cout}`, calls: first ? 1 : 3, flops: 2 * macs, run: () => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [n, h, h, cin] }) as tf.Tensor });
}
// G: transposed conv (h, cin) -> (2h, cout), 4x4 stride 2 same: forward is BackpropInput,
// the filter gradient BackpropFilter, the input gradient Conv2D.
const gLayers: [number, number, number][] = [[4, 512, 256], [8, 256, 128], [16, 128, 64], [32, 64, 1]];
for (const [h, cin, cout] of gLayers) {
  const x = r([n, h, h, cin]) as tf.Tensor4D;
  const w = r([4, 4, cout, cin]) as tf.Tensor4D;
  const dy = r([n, 2 * h, 2 * h, cout]) as tf.Tensor4D;
  const macs = n * h * h * cin * 16 * cout;
  ops.push({ name: 'BackpropInput (G fwd)', shape: `${h}x${h}x${cin}->${cout}`, calls: 1, flops: 2 * macs, run: () => tf.conv2dTranspose(x, w, [n, 2 * h, 2 * h, cout], 2, 'same') });
  ops.push({ name: 'BackpropFilter (G)', shape: `${h}x${h}x${cin}->${cout}`, calls: 1, flops: 2 * macs, run: () => tf.engine().runKernel('Conv2DBackpropFilter', { x: dy, dy: x }, { strides: 2, pad: 'same', dataFormat: 'NHWC', filterShape: [4, 4, cout, cin] }) as tf.Tensor });
  ops.push({ name: 'Conv2D (G dx)', shape: `${h}x${h}x${cin}->${cout}`, calls: 1, flops: 2 * macs, run: () => tf.conv2d(dy, w, 2, 'same') });
}

const results: [string, string, number, number][] = [];
let totalMs = 0;
let totalFlops = 0;
for (const op of ops) {
  tf.dispose(op.run()); // warm-up: oneDNN primitive creation
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = op.run();
    y.dataSync();
    y.dispose();
  }
  const ms = (performance.now() - t0) / reps;
  results.push([op.name, op.shape, op.calls, Math.round(ms * 10) / 10]);
  totalMs += ms * op.calls;
  totalFlops += op.flops * op.calls;
}
console.log(JSON.stringify({ tf_version: loaded.backend().binding.TF_Version, onednn: process.env['TF_ENABLE_ONEDNN_OPTS'] ?? 'default', total_ms: Math.round(totalMs), gflops_per_s: Math.round(totalFlops / totalMs / 1e6), ops: results }));
