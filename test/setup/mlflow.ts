/**
 * vitest globalSetup: a real MLflow tracking server for the integration tests.
 *
 * Started only when a selected test file needs it, that is when its source
 * mentions `mlflowUri` (it reads `inject('mlflowUri')`), so a run of other
 * packages' tests pays nothing. The server runs from scripts/start-mlflow.sh on
 * a free port with a fresh SQLite store and artifact folder in a temp dir,
 * and is stopped in teardown.
 *
 * Provides `mlflowUri`, `mlflowDir` and `mlflowPort` (read them with
 * `inject(...)`), and sets MLFLOW_TRACKING_URI for processes tests spawn.
 * The helpers below start, stop and restart servers (same port, same store),
 * for tests that need an outage.
 *
 * Environment: DUEL_MLFLOW_PYTHON (see the script), DUEL_MLFLOW_START_TIMEOUT
 * (seconds, default 90), DUEL_KEEP_MLFLOW_DIR=1 keeps the temp dir (logs, db).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    mlflowUri: string;
    mlflowDir: string;
    mlflowPort: number;
  }
}

const script = fileURLToPath(new URL('../../scripts/start-mlflow.sh', import.meta.url));

/** A server started by {@link startMlflowServer}. */
export interface MlflowServer {
  uri: string;
  port: number;
  /** Holds mlflow.db, artifacts/, mlflow.log and mlflow.pid. */
  dir: string;
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function runScript(args: string[], timeoutS: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [script, ...args],
      { env: { ...process.env, DUEL_MLFLOW_START_TIMEOUT: String(timeoutS) }, timeout: (timeoutS + 30) * 1000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`scripts/start-mlflow.sh ${args.join(' ')} failed: ${error.message}\n${stderr}`));
        else resolve(stdout.trim());
      },
    );
  });
}

/**
 * Starts a server on `port` keeping its data in `dir` (an existing dir keeps
 * its runs: that is how a restart resumes) and waits until /health answers.
 */
export async function startMlflowServer(options: { port: number; dir: string; timeoutS?: number }): Promise<MlflowServer> {
  const timeoutS = options.timeoutS ?? Number(process.env['DUEL_MLFLOW_START_TIMEOUT'] ?? 90);
  const out = await runScript(['--port', String(options.port), '--dir', options.dir], timeoutS);
  const uri = out.split('\n').pop() ?? `http://127.0.0.1:${options.port}`;
  return { uri, port: options.port, dir: options.dir };
}

/** Stops the server of `dir` (its whole process group) and waits until it is gone. */
export async function stopMlflowServer(dir: string): Promise<void> {
  await runScript(['--stop', '--dir', dir], 30);
}

/** Stops and starts the same server: same port, same store, same artifacts. */
export async function restartMlflowServer(server: MlflowServer): Promise<MlflowServer> {
  await stopMlflowServer(server.dir);
  return startMlflowServer({ port: server.port, dir: server.dir });
}

/** Starts a server of its own in a fresh temp dir (for tests that stop it). */
export async function startPrivateMlflowServer(): Promise<MlflowServer> {
  const dir = mkdtempSync(join(tmpdir(), 'duel-mlflow-'));
  return startMlflowServer({ port: await freePort(), dir });
}

/** Stops a server and removes its dir (unless DUEL_KEEP_MLFLOW_DIR is set). */
export async function disposeMlflowServer(server: MlflowServer): Promise<void> {
  await stopMlflowServer(server.dir);
  if (!process.env['DUEL_KEEP_MLFLOW_DIR']) rmSync(server.dir, { recursive: true, force: true });
}

/** Whether a selected test file reads `mlflowUri`; true when that can't be told. */
async function serverNeeded(project: TestProject): Promise<boolean> {
  try {
    const vitest = project.vitest as unknown as { filenamePattern?: string[]; globTestSpecifications(filters?: string[]): Promise<{ moduleId: string }[]> };
    const specs = await vitest.globTestSpecifications(vitest.filenamePattern ?? []);
    return specs.some((spec) => readFileSync(spec.moduleId, 'utf8').includes('mlflowUri'));
  } catch {
    return true;
  }
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (!(await serverNeeded(project))) return undefined;
  const server = await startPrivateMlflowServer();
  project.provide('mlflowUri', server.uri);
  project.provide('mlflowDir', server.dir);
  project.provide('mlflowPort', server.port);
  process.env['MLFLOW_TRACKING_URI'] = server.uri;
  return async () => {
    await disposeMlflowServer(server);
  };
}
