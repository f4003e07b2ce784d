#!/usr/bin/env node
// Builds @tensorflow/tfjs-node's native addon against the TensorFlow C library
// that ships inside PyPI's tensorflow wheel.
//
// Why: tfjs-node's own install script downloads libtensorflow from a host that
// many machines (this project's CI among them) cannot reach. The tensorflow-cpu
// wheel carries libtensorflow_cc.so.2 and libtensorflow_framework.so.2, which
// export every TF_*/TFE_* symbol the binding calls, plus the C headers.
//
// Idempotent: a stamp file records which wheel the addon was built from; a
// second run with the same wheel and a loadable addon does nothing.
//
// Usage: node scripts/setup-tensorflow.mjs [--gpu] [--force]
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, createReadStream, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const gpu = args.has('--gpu');
const force = args.has('--force');

/** The wheels this project is pinned to (name, version, sha256 of the cp311 manylinux x86_64 file). */
const WHEELS = {
  cpu: {
    pkg: '@tensorflow/tfjs-node',
    requirement: 'tensorflow-cpu==2.21.0',
    file: 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    sha256: '2b847d217b02ee7731ed91431daf3250daa0196c3c94614d23be27232e6e5b6c',
  },
  // The GPU build takes its CUDA libraries from the nvidia-* wheels that
  // tensorflow[and-cuda] pulls in; only the wheel's own files are placed here.
  gpu: {
    pkg: '@tensorflow/tfjs-node-gpu',
    requirement: 'tensorflow==2.21.0',
    file: 'tensorflow-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl',
    sha256: null,
  },
};

function fail(step, detail) {
  console.error(`setup-tensorflow: ${step} failed.\n${detail}`);
  process.exit(1);
}

function say(message) {
  console.log(`setup-tensorflow: ${message}`);
}

async function sha256(path) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk);
  return hash.digest('hex');
}

function python() {
  for (const candidate of [process.env.DUEL_PYTHON, join(root, '.venv/bin/python'), 'python3']) {
    if (!candidate) continue;
    const probe = spawnSync(candidate, ['-c', 'import sys; print(sys.version_info[:2] >= (3, 9))'], { encoding: 'utf8' });
    if (probe.status === 0 && probe.stdout.trim() === 'True') return candidate;
  }
  return fail('finding Python', 'No python3 >= 3.9 found (set DUEL_PYTHON). pip is needed to fetch the TensorFlow wheel.');
}

function packageDir(pkg) {
  const require = createRequire(join(root, 'packages/engine/package.json'));
  try {
    return dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    return fail(`locating ${pkg}`, `Run "pnpm install" first: ${pkg} is not installed under packages/engine.`);
  }
}

function addonLoads(dir) {
  const addon = join(dir, 'lib/napi-v8/tfjs_binding.node');
  if (!existsSync(addon)) return false;
  const probe = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(addon)})`], { encoding: 'utf8' });
  return probe.status === 0;
}

async function fetchWheel(py, wheel) {
  const cacheDir = join(root, '.cache/wheels');
  mkdirSync(cacheDir, { recursive: true });
  let path = join(cacheDir, wheel.file);
  if (!existsSync(path)) {
    say(`downloading ${wheel.requirement} with pip`);
    const pip = spawnSync(py, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--python-version', '3.11',
      '--platform', 'manylinux_2_27_x86_64', '-d', cacheDir, wheel.requirement], { stdio: 'inherit' });
    if (pip.status !== 0) fail(`pip download ${wheel.requirement}`, 'pip could not fetch the wheel; see its output above.');
    const found = readdirSync(cacheDir).find((name) => name.startsWith(wheel.file.split('-')[0] + '-2.21.0'));
    if (!found) fail('locating the downloaded wheel', `no ${wheel.file} in ${cacheDir}`);
    path = join(cacheDir, found);
  }
  if (wheel.sha256) {
    const actual = await sha256(path);
    if (actual !== wheel.sha256) {
      rmSync(path);
      fail('checking the wheel hash', `${path}: sha256 ${actual}, expected ${wheel.sha256}. The file was removed; run again.`);
    }
  }
  return path;
}

function extract(py, wheelPath, dir) {
  const lib = join(dir, 'deps/lib');
  const include = join(dir, 'deps/include');
  rmSync(join(dir, 'deps'), { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  mkdirSync(include, { recursive: true });
  // Python's zipfile is always there with pip; no unzip binary is needed.
  const script = `
import sys, zipfile, os
whl, lib, inc = sys.argv[1:4]
z = zipfile.ZipFile(whl)
# The C API headers and the few headers they include from the rest of TensorFlow.
HEADERS = tuple('tensorflow/include/' + d for d in (
    'tensorflow/c/', 'xla/tsl/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring'))
for name in z.namelist():
    if name in ('tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'):
        with z.open(name) as src, open(os.path.join(lib, os.path.basename(name)), 'wb') as dst:
            dst.write(src.read())
    elif name.startswith(HEADERS) and not name.endswith('/'):
        out = os.path.join(inc, name[len('tensorflow/include/'):])
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with z.open(name) as src, open(out, 'wb') as dst:
            dst.write(src.read())
`;
  const run = spawnSync(py, ['-c', script, wheelPath, lib, include], { stdio: 'inherit' });
  if (run.status !== 0) fail('extracting the TensorFlow C library from the wheel', wheelPath);
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so'));
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so.2'));
  symlinkSync('libtensorflow_framework.so.2', join(lib, 'libtensorflow_framework.so'));
}

function buildAddon(dir) {
  const nodeGyp = join(root, 'node_modules/node-gyp/bin/node-gyp.js');
  if (!existsSync(nodeGyp)) fail('locating node-gyp', 'Run "pnpm install" first (node-gyp is a dev dependency).');
  // node-gyp would download the Node.js headers; use the ones installed beside node.
  const prefix = resolve(dirname(process.execPath), '..');
  const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include/node/node.h')) ? prefix : null);
  if (!nodedir) fail('locating the Node.js headers', `no ${join(prefix, 'include/node/node.h')}; set npm_config_nodedir.`);
  say('building the tfjs-node addon (about 15 s)');
  try {
    execFileSync(process.execPath, [nodeGyp, 'rebuild', '--module_name=tfjs_binding',
      `--module_path=${join(dir, 'lib/napi-v8')}`, '--napi_build_version=8', `--nodedir=${nodedir}`], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    fail('node-gyp rebuild', `in ${dir}. A C++ compiler (g++), make and the Node.js headers are needed.`);
  }
}

const wheel = gpu ? WHEELS.gpu : WHEELS.cpu;
const dir = packageDir(wheel.pkg);
const stampPath = join(dir, 'deps/duel-stamp.json');
const stamp = JSON.stringify({ wheel: wheel.file, sha256: wheel.sha256 });
if (!force && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && addonLoads(dir)) {
  say(`${wheel.pkg} already built from ${wheel.file}`);
  process.exit(0);
}
const py = python();
const wheelPath = await fetchWheel(py, wheel);
extract(py, wheelPath, dir);
buildAddon(dir);
if (!addonLoads(dir)) fail('loading the built addon', `${join(dir, 'lib/napi-v8/tfjs_binding.node')} did not load.`);
writeFileSync(stampPath, stamp);
say(`${wheel.pkg} ready (TensorFlow C library from ${wheel.file})`);
