import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** The two npm packages that bind TensorFlow's C library; both register backend 'tensorflow'. */
export type TfjsNodePackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

/** TensorFlow's thread pools, read from the environment when the addon creates its context. */
export interface ThreadSettings {
  /** Threads one kernel may use (TF_NUM_INTRAOP_THREADS); 0 lets TensorFlow choose (all cores). */
  readonly intraOp: number;
  /** Kernels run at once (TF_NUM_INTEROP_THREADS); 0 lets TensorFlow choose. */
  readonly interOp: number;
}

/** What is known about one tfjs-node package here, without loading it. */
export interface TfjsNodeProbe {
  readonly pkg: TfjsNodePackage;
  readonly installed: boolean;
  /** Where the package lives, when installed. */
  readonly dir?: string;
  /** Why it cannot be loaded, when it cannot. */
  readonly problem?: string;
}

/** A loaded tfjs-node package. */
export interface LoadedTfjsNode {
  readonly pkg: TfjsNodePackage;
  /** Whether TensorFlow found a GPU and runs kernels on it. */
  readonly usingGpu: boolean;
  /** The TensorFlow C library's version (TF_Version). */
  readonly tensorflowVersion: string;
  readonly threads: ThreadSettings;
}

const require = createRequire(import.meta.url);
const SETUP_HINT = 'run node scripts/setup-tensorflow.mjs';

/** node-pre-gyp picks the highest N-API version the package lists that Node supports: 8 for tfjs-node 4.x on Node >= 16. */
const ADDON = 'lib/napi-v8/tfjs_binding.node';

/** Looks for a tfjs-node package and its native addon, without loading either. */
export function probeTfjsNode(pkg: TfjsNodePackage): TfjsNodeProbe {
  let dir: string;
  try {
    dir = dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return { pkg, installed: false, problem: `${pkg} is not installed` };
  }
  if (!existsSync(join(dir, ADDON))) {
    const flag = pkg === '@tensorflow/tfjs-node-gpu' ? ' --gpu' : '';
    return { pkg, installed: true, dir, problem: `the ${pkg} addon is not built; ${SETUP_HINT}${flag}` };
  }
  return { pkg, installed: true, dir };
}

let loaded: { pkg: TfjsNodePackage; result: LoadedTfjsNode | Error } | undefined;

interface NodeBackendLike {
  isUsingGpuDevice?: boolean;
  binding?: { TF_Version?: string };
}

/**
 * Loads a tfjs-node package once per process (loading it registers backend
 * 'tensorflow' and makes it active). Thread settings go into the environment
 * first: TensorFlow reads them when the addon creates its eager context, so
 * they cannot change afterwards. Returns an Error (not thrown) when the
 * package or its addon cannot be loaded.
 */
export function loadTfjsNode(pkg: TfjsNodePackage, threads: ThreadSettings): LoadedTfjsNode | Error {
  if (loaded) {
    if (loaded.pkg !== pkg && !(loaded.result instanceof Error)) {
      return new Error(`${loaded.pkg} is already loaded in this process; ${pkg} cannot be loaded beside it`);
    }
    if (loaded.pkg === pkg) return loaded.result;
  }
  const probe = probeTfjsNode(pkg);
  if (probe.problem) return new Error(probe.problem);
  // TensorFlow's C++ logging prints an INFO banner per process (oneDNN, CPU features) unless told not to.
  process.env['TF_CPP_MIN_LOG_LEVEL'] ??= '2';
  if (threads.intraOp > 0) process.env['TF_NUM_INTRAOP_THREADS'] = String(threads.intraOp);
  if (threads.interOp > 0) process.env['TF_NUM_INTEROP_THREADS'] = String(threads.interOp);
  let result: LoadedTfjsNode | Error;
  try {
    const tfn = require(pkg) as { engine(): { findBackend(name: string): NodeBackendLike | null } };
    const backend = tfn.engine().findBackend('tensorflow') ?? undefined;
    result = {
      pkg,
      usingGpu: backend?.isUsingGpuDevice === true,
      tensorflowVersion: backend?.binding?.TF_Version ?? 'unknown',
      threads: { intraOp: Number(process.env['TF_NUM_INTRAOP_THREADS'] ?? 0), interOp: Number(process.env['TF_NUM_INTEROP_THREADS'] ?? 0) },
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    result = new Error(`the ${pkg} addon does not load (${message}); ${SETUP_HINT}${pkg.endsWith('-gpu') ? ' --gpu' : ''}`);
  }
  loaded = { pkg, result };
  return result;
}
