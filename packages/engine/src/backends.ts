import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { definePlugin, UserInputError } from '@duel/core';
import type { Backend } from '@duel/core';
import { z } from 'zod';
import { loadTfjsNode, probeTfjsNode } from './tfjs-node';
import type { TfjsNodePackage, ThreadSettings } from './tfjs-node';
import { registerTensorflowKernels } from './tensorflow-kernels';
import { registerWasmTrainingKernels } from './wasm-kernels';

/** The concrete backends, fastest first: the order `auto` tries them in. */
export const BACKEND_ORDER = ['tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_ORDER)[number];

/** What an activated backend reports, for the run's log and its tags. */
export interface ActiveBackend {
  /** The tfjs backend now active. */
  readonly name: BackendName;
  /** One line: the library, the device, the threads. */
  readonly description: string;
}

/** A duel backend: the `Backend` contract, plus why it cannot run and what activation chose. */
export interface EngineBackend extends Backend {
  readonly name: 'auto' | BackendName;
  /** Why it cannot run here, or undefined when it can. Loads nothing it would not load to run. */
  unavailableReason(): Promise<string | undefined>;
  /** Makes it the active tfjs backend; fails with a UserInputError naming the reason when it cannot. */
  activate(): Promise<void>;
  /** After `activate`: what runs (for `auto`, the backend it picked). */
  readonly active: ActiveBackend | undefined;
}

function unavailable(name: string, reason: string): UserInputError {
  return new UserInputError(`backend '${name}' is not available: ${reason}`);
}

async function switchTo(name: BackendName): Promise<void> {
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new Error(`tfjs could not initialise backend '${name}'`);
}

// ---------------------------------------------------------------- tensorflow

/** Options of backend `tensorflow`. */
export const tensorflowOptions = z
  .object({
    /**
     * `cpu`: @tensorflow/tfjs-node; `gpu`: @tensorflow/tfjs-node-gpu, which must
     * find a GPU; `auto`: the GPU package when its addon is built, else the CPU one.
     * @default 'auto'
     */
    device: z.enum(['auto', 'cpu', 'gpu']).default('auto'),
    /**
     * Threads one TensorFlow kernel may use (TF_NUM_INTRAOP_THREADS); 0 lets
     * TensorFlow use every core. Fixed when the addon loads: the first
     * activation in a process decides. @default 0
     */
    intraOpThreads: z.number().int().min(0).max(1024).default(0),
    /** Kernels TensorFlow may run at once (TF_NUM_INTEROP_THREADS); 0 lets it choose. @default 0 */
    interOpThreads: z.number().int().min(0).max(1024).default(0),
    /**
     * Register duel's fused kernels (one TensorFlow op for batch-norm training
     * and its gradient, TensorFlow's Philox for dropout masks); models use them
     * when present. @default true
     */
    fusedKernels: z.boolean().default(true),
  })
  .strict();
export type TensorflowOptions = z.output<typeof tensorflowOptions>;

function candidates(device: TensorflowOptions['device']): TfjsNodePackage[] {
  if (device === 'cpu') return ['@tensorflow/tfjs-node'];
  if (device === 'gpu') return ['@tensorflow/tfjs-node-gpu'];
  const gpu = probeTfjsNode('@tensorflow/tfjs-node-gpu');
  return gpu.problem ? ['@tensorflow/tfjs-node'] : ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];
}

/** Creates the `tensorflow` backend (TensorFlow's C library through tfjs-node). */
export function createTensorflowBackend(options: Partial<TensorflowOptions> = {}): EngineBackend {
  const opts = tensorflowOptions.parse(options);
  const threads: ThreadSettings = { intraOp: opts.intraOpThreads, interOp: opts.interOpThreads };
  let chosen: { pkg: TfjsNodePackage; usingGpu: boolean; version: string; threads: ThreadSettings } | undefined;
  const load = (): string | undefined => {
    if (chosen) return undefined;
    const problems: string[] = [];
    for (const pkg of candidates(opts.device)) {
      const loaded = loadTfjsNode(pkg, threads);
      if (loaded instanceof Error) {
        problems.push(loaded.message);
        continue;
      }
      if (opts.device === 'gpu' && !loaded.usingGpu) {
        problems.push(`${pkg} loaded but TensorFlow found no GPU (CUDA libraries missing or no device)`);
        continue;
      }
      chosen = { pkg, usingGpu: loaded.usingGpu, version: loaded.tensorflowVersion, threads: loaded.threads };
      return undefined;
    }
    return problems.join('; ');
  };
  let active: ActiveBackend | undefined;
  return {
    name: 'tensorflow',
    get active() {
      return active;
    },
    async unavailableReason() {
      const before = tf.getBackend();
      const problem = load();
      // Loading tfjs-node makes 'tensorflow' active; asking must not switch backends.
      if (before && before !== tf.getBackend()) await tf.setBackend(before);
      return problem;
    },
    async available() {
      return (await this.unavailableReason()) === undefined;
    },
    async activate() {
      const problem = load();
      if (problem !== undefined || !chosen) throw unavailable('tensorflow', problem ?? 'unknown');
      await switchTo('tensorflow');
      if (opts.fusedKernels) registerTensorflowKernels();
      const t = chosen.threads;
      const threadText = `intra-op threads ${t.intraOp || 'all'}, inter-op ${t.interOp || 'default'}`;
      active = { name: 'tensorflow', description: `tensorflow (${chosen.pkg}, TensorFlow ${chosen.version}, ${chosen.usingGpu ? 'GPU' : 'CPU'}, ${threadText})` };
    },
  };
}

// ---------------------------------------------------------------- wasm

/** Options of backend `wasm`. */
export const wasmOptions = z
  .object({
    /** Threads for the multi-threaded wasm build, where the runtime allows it (browsers); 0 = its default. @default 0 */
    threads: z.number().int().min(0).max(64).default(0),
  })
  .strict();
export type WasmOptions = z.output<typeof wasmOptions>;

const nodeRequire = createRequire(import.meta.url);

/** Creates the `wasm` backend (@tensorflow/tfjs-backend-wasm, XNNPACK), with the kernels it lacks for training. */
export function createWasmBackend(options: Partial<WasmOptions> = {}): EngineBackend {
  const opts = wasmOptions.parse(options);
  let problem: string | undefined | null = null;
  const load = async (): Promise<string | undefined> => {
    if (problem !== null) return problem;
    try {
      nodeRequire.resolve('@tensorflow/tfjs-backend-wasm');
    } catch {
      return (problem = '@tensorflow/tfjs-backend-wasm is not installed');
    }
    const wasm = (await import('@tensorflow/tfjs-backend-wasm')) as { setThreadsCount?: (n: number) => void };
    if (opts.threads > 0) wasm.setThreadsCount?.(opts.threads);
    registerWasmTrainingKernels();
    return (problem = undefined);
  };
  let active: ActiveBackend | undefined;
  return {
    name: 'wasm',
    get active() {
      return active;
    },
    async unavailableReason() {
      return load();
    },
    async available() {
      return (await load()) === undefined;
    },
    async activate() {
      const reason = await load();
      if (reason !== undefined) throw unavailable('wasm', reason);
      try {
        await switchTo('wasm');
      } catch (error) {
        throw unavailable('wasm', `its WebAssembly module did not initialise (${(error as Error).message})`);
      }
      active = { name: 'wasm', description: 'wasm (@tensorflow/tfjs-backend-wasm, XNNPACK, single thread in Node)' };
    },
  };
}

// ---------------------------------------------------------------- cpu

/** Creates the `cpu` backend (tfjs' pure-JavaScript kernels: always there, slowest). */
export function createCpuBackend(): EngineBackend {
  let active: ActiveBackend | undefined;
  return {
    name: 'cpu',
    get active() {
      return active;
    },
    async unavailableReason() {
      return undefined;
    },
    async available() {
      return true;
    },
    async activate() {
      await switchTo('cpu');
      active = { name: 'cpu', description: 'cpu (tfjs pure JavaScript)' };
    },
  };
}

// ---------------------------------------------------------------- auto

/** Options of backend `auto`: those of `tensorflow` and `wasm`, used by whichever is picked. */
export const autoOptions = z
  .object({
    tensorflow: tensorflowOptions.default(tensorflowOptions.parse({})),
    wasm: wasmOptions.default(wasmOptions.parse({})),
  })
  .strict();
export type AutoOptions = z.output<typeof autoOptions>;

/** Creates `auto`: the first of tensorflow, wasm, cpu that can run here. */
export function createAutoBackend(options: Partial<AutoOptions> = {}, make = defaultMakers(options)): EngineBackend {
  const backends = BACKEND_ORDER.map((name) => make[name]());
  let active: ActiveBackend | undefined;
  return {
    name: 'auto',
    get active() {
      return active;
    },
    async unavailableReason() {
      for (const backend of backends) if ((await backend.unavailableReason()) === undefined) return undefined;
      return 'no backend can run';
    },
    async available() {
      return (await this.unavailableReason()) === undefined;
    },
    async activate() {
      const skipped: string[] = [];
      for (const backend of backends) {
        const reason = await backend.unavailableReason();
        if (reason === undefined) {
          await backend.activate();
          const picked = backend.active!;
          const note = skipped.length > 0 ? `; skipped ${skipped.join('; ')}` : '';
          active = { name: picked.name, description: `${picked.description} [auto${note}]` };
          return;
        }
        skipped.push(`${backend.name}: ${reason}`);
      }
      throw unavailable('auto', skipped.join('; '));
    },
  };
}

function defaultMakers(options: Partial<AutoOptions>): Record<BackendName, () => EngineBackend> {
  return {
    tensorflow: () => createTensorflowBackend(options.tensorflow ?? {}),
    wasm: () => createWasmBackend(options.wasm ?? {}),
    cpu: () => createCpuBackend(),
  };
}

// ---------------------------------------------------------------- plugins

export const tensorflowBackend = definePlugin({
  kind: 'backend',
  name: 'tensorflow',
  description: 'TensorFlow C library through tfjs-node (CPU, or GPU with tfjs-node-gpu): the fast one',
  options: tensorflowOptions,
  create: (options) => createTensorflowBackend(options),
});

export const wasmBackend = definePlugin({
  kind: 'backend',
  name: 'wasm',
  description: 'WebAssembly (XNNPACK) through @tensorflow/tfjs-backend-wasm, with duel\'s training kernels: no native addon needed',
  options: wasmOptions,
  create: (options) => createWasmBackend(options),
});

export const cpuBackend = definePlugin({
  kind: 'backend',
  name: 'cpu',
  description: 'tfjs pure JavaScript: runs anywhere, for tests and tiny shapes',
  options: z.object({}).strict(),
  create: () => createCpuBackend(),
});

export const autoBackend = definePlugin({
  kind: 'backend',
  name: 'auto',
  description: 'The fastest backend that can run here: tensorflow, else wasm, else cpu',
  options: autoOptions,
  create: (options) => createAutoBackend(options),
});

/** Creates a backend by name with its options (for the bench and for code outside the container). */
export function createBackend(name: string, options: Record<string, unknown> = {}): EngineBackend {
  switch (name) {
    case 'tensorflow':
      return createTensorflowBackend(parseOptions(name, tensorflowOptions, options));
    case 'wasm':
      return createWasmBackend(parseOptions(name, wasmOptions, options));
    case 'cpu':
      return createCpuBackend();
    case 'auto':
      return createAutoBackend(parseOptions(name, autoOptions, options));
    default:
      throw new UserInputError(`unknown backend '${name}': use one of auto, ${BACKEND_ORDER.join(', ')}`);
  }
}

function parseOptions<S extends z.ZodType>(name: string, schema: S, options: Record<string, unknown>): z.output<S> {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    throw new UserInputError(`invalid options for backend '${name}'`, parsed.error.issues.map((i) => ({ path: `backend.options.${i.path.join('.')}`, message: i.message })));
  }
  return parsed.data;
}
