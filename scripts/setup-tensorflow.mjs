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
// --gpu builds @tensorflow/tfjs-node-gpu instead, against the GPU build of
// TensorFlow 2.21 with its CUDA libraries (pip's tensorflow[and-cuda], about
// 4 GB, installed into .cache/tf-gpu-venv). The TF libraries are linked, not
// copied, into the package's deps/lib, and deps/nvidia points at the venv's
// nvidia/ folder, so the $ORIGIN/../nvidia/... run paths inside TensorFlow's
// libraries find CUDA. Untested here: this project's machines have no GPU.
//
// Every installed copy of the package is built (pnpm keeps one per peer set).
//
// Usage: node scripts/setup-tensorflow.mjs [--gpu] [--force]
import { createHash } from 'node:crypto';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, createReadStream, readdirSync } from 'node:fs';
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
  // tensorflow[and-cuda] pulls in, so it is pip-installed into a venv, not unpacked.
  gpu: {
    pkg: '@tensorflow/tfjs-node-gpu',
    requirement: 'tensorflow[and-cuda]==2.21.0',
    file: 'tensorflow[and-cuda]==2.21.0 (.cache/tf-gpu-venv)',
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

/** Every installed copy of the package: the one packages/engine resolves, and any other pnpm keeps. */
function packageDirs(pkg) {
  const require = createRequire(join(root, 'packages/engine/package.json'));
  const dirs = new Set();
  try {
    dirs.add(realpathSync(dirname(require.resolve(`${pkg}/package.json`))));
  } catch {
    fail(`locating ${pkg}`, `Run "pnpm install" first: ${pkg} is not installed under packages/engine.`);
  }
  const store = join(root, 'node_modules/.pnpm');
  const prefix = `${pkg.replace('/', '+')}@`;
  for (const entry of existsSync(store) ? readdirSync(store) : []) {
    const candidate = join(store, entry, 'node_modules', pkg);
    if (entry.startsWith(prefix) && existsSync(join(candidate, 'package.json'))) dirs.add(realpathSync(candidate));
  }
  return [...dirs];
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

function freshDeps(dir) {
  const lib = join(dir, 'deps/lib');
  const include = join(dir, 'deps/include');
  rmSync(join(dir, 'deps'), { recursive: true, force: true });
  mkdirSync(lib, { recursive: true });
  mkdirSync(include, { recursive: true });
  return { lib, include };
}

function linkNames(lib) {
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so'));
  symlinkSync('libtensorflow_cc.so.2', join(lib, 'libtensorflow.so.2'));
  symlinkSync('libtensorflow_framework.so.2', join(lib, 'libtensorflow_framework.so'));
}

/** The C API headers and the few headers they include from the rest of TensorFlow. */
const HEADER_DIRS = ['tensorflow/c/', 'xla/tsl/c/', 'tensorflow/core/platform/ctstring', 'tsl/platform/ctstring'];

function extract(py, wheelPath, dir) {
  const { lib, include } = freshDeps(dir);
  // Python's zipfile is always there with pip; no unzip binary is needed.
  const script = `
import sys, zipfile, os
whl, lib, inc = sys.argv[1:4]
z = zipfile.ZipFile(whl)
HEADERS = tuple('tensorflow/include/' + d for d in ${JSON.stringify(HEADER_DIRS)})
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
  linkNames(lib);
}

/** pip-installs tensorflow[and-cuda] into its own venv; returns the installed tensorflow/ and nvidia/ folders. */
function installGpuTensorflow(py, requirement) {
  const venv = join(root, '.cache/tf-gpu-venv');
  const venvPy = join(venv, 'bin/python');
  if (!existsSync(venvPy)) {
    say(`creating ${venv}`);
    const made = spawnSync(py, ['-m', 'venv', venv], { stdio: 'inherit' });
    if (made.status !== 0) fail('creating the GPU venv', `${py} -m venv ${venv}`);
  }
  say(`pip install ${requirement} (TensorFlow with its CUDA and cuDNN wheels, about 4 GB)`);
  const pip = spawnSync(venvPy, ['-m', 'pip', 'install', '--disable-pip-version-check', requirement], { stdio: 'inherit' });
  if (pip.status !== 0) fail(`pip install ${requirement}`, 'see pip\'s output above.');
  const site = spawnSync(venvPy, ['-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'], { encoding: 'utf8' }).stdout.trim();
  const tensorflow = join(site, 'tensorflow');
  for (const file of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2', 'include/tensorflow/c/c_api.h']) {
    if (!existsSync(join(tensorflow, file))) fail('checking the installed TensorFlow', `no ${join(tensorflow, file)}`);
  }
  return { tensorflow, nvidia: join(site, 'nvidia') };
}

/** Places an installed GPU TensorFlow into a tfjs-node-gpu copy: libraries and CUDA linked, headers copied. */
function placeInstalled(py, installed, dir) {
  const { lib, include } = freshDeps(dir);
  for (const file of ['libtensorflow_cc.so.2', 'libtensorflow_framework.so.2']) symlinkSync(join(installed.tensorflow, file), join(lib, file));
  // TensorFlow finds CUDA through run paths like $ORIGIN/../nvidia/cublas/lib; $ORIGIN is deps/lib here.
  if (existsSync(installed.nvidia)) symlinkSync(installed.nvidia, join(dir, 'deps/nvidia'));
  const script = `
import os, shutil, sys, json
src, inc, wanted = sys.argv[1], sys.argv[2], tuple(json.loads(sys.argv[3]))
base = os.path.join(src, 'include')
for folder, _, files in os.walk(base):
    for f in files:
        rel = os.path.relpath(os.path.join(folder, f), base)
        if rel.startswith(wanted):
            os.makedirs(os.path.join(inc, os.path.dirname(rel)), exist_ok=True)
            shutil.copyfile(os.path.join(folder, f), os.path.join(inc, rel))
`;
  const run = spawnSync(py, ['-c', script, installed.tensorflow, include, JSON.stringify(HEADER_DIRS)], { stdio: 'inherit' });
  if (run.status !== 0) fail('copying the TensorFlow C headers', installed.tensorflow);
  linkNames(lib);
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
const stamp = JSON.stringify({ wheel: wheel.file, sha256: wheel.sha256 });
const todo = packageDirs(wheel.pkg).filter((dir) => {
  const stampPath = join(dir, 'deps/duel-stamp.json');
  const done = !force && existsSync(stampPath) && readFileSync(stampPath, 'utf8') === stamp && addonLoads(dir);
  if (done) say(`${dir}: already built from ${wheel.file}`);
  return !done;
});
if (todo.length > 0) {
  const py = python();
  const source = gpu ? installGpuTensorflow(py, wheel.requirement) : await fetchWheel(py, wheel);
  for (const dir of todo) {
    if (gpu) placeInstalled(py, source, dir);
    else extract(py, source, dir);
    buildAddon(dir);
    if (!addonLoads(dir)) fail('loading the built addon', `${join(dir, 'lib/napi-v8/tfjs_binding.node')} did not load.`);
    writeFileSync(join(dir, 'deps/duel-stamp.json'), stamp);
    say(`${dir}: ready (TensorFlow C library from ${wheel.file})`);
  }
}
