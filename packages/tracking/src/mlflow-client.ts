/**
 * A small MLflow REST client on undici: the handful of calls duel needs
 * (experiments, runs, log-batch, the artifact proxy), each retried on
 * throttling, server errors and lost connections.
 *
 * REST reference: https://mlflow.org/docs/latest/api_reference/rest-api.html
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { Agent, request, type Dispatcher } from 'undici';
import { DEFAULT_RETRY, RetryAbortedError, backoffDelay, isConnectionError, isRetryableStatus, parseRetryAfter, sleep, type RetryPolicy } from './retry';

/** An MLflow REST error: the HTTP status and MLflow's own `error_code`. */
export class MlflowApiError extends Error {
  override readonly name = 'MlflowApiError';
  constructor(
    readonly endpoint: string,
    readonly status: number,
    /** MLflow's error code, e.g. `RESOURCE_ALREADY_EXISTS`; `UNKNOWN` when the body had none. */
    readonly errorCode: string,
    message: string,
    /** What Retry-After asked for, in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(`MLflow ${endpoint}: HTTP ${status} ${errorCode}: ${message}`);
  }
  get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

/** Whether an error from the client is worth another try (5xx, 408, 429, connection failures). */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof MlflowApiError) return error.retryable;
  return isConnectionError(error);
}

/** Options of {@link MlflowClient}. */
export interface MlflowClientOptions {
  /** The tracking server, e.g. `http://127.0.0.1:5000` (a path prefix is kept). */
  uri: string;
  /** An undici dispatcher (a MockAgent in tests). @default a keep-alive Agent the client owns */
  dispatcher?: Dispatcher;
  /** Default retry policy of every call. @default {@link DEFAULT_RETRY} */
  retry?: Partial<RetryPolicy>;
  /** Time allowed for the response headers, and between body chunks. @default 30000 */
  requestTimeoutMs?: number;
  /** Headers sent with every request (authentication). @default from MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD */
  headers?: Record<string, string>;
}

export interface MlflowTag {
  key: string;
  value: string;
}
export interface MlflowMetric {
  key: string;
  /** Non-finite values go over the wire as the strings "NaN", "Infinity", "-Infinity". */
  value: number;
  timestamp: number;
  step: number;
}
export interface MlflowRunInfo {
  run_id: string;
  experiment_id: string;
  run_name?: string;
  status: string;
  start_time?: number;
  end_time?: number;
  artifact_uri: string;
  lifecycle_stage: string;
}
export interface MlflowRun {
  info: MlflowRunInfo;
  data: { metrics?: MlflowMetric[]; params?: MlflowTag[]; tags?: MlflowTag[] };
}
export interface MlflowFileInfo {
  path: string;
  is_dir: boolean;
  file_size?: number;
}

interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  retry?: Partial<RetryPolicy>;
}

const API = '/api/2.0/mlflow';
const ARTIFACTS_API = '/api/2.0/mlflow-artifacts/artifacts';

/** Authentication headers from MLflow's own environment variables. */
export function authHeadersFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  if (env.MLFLOW_TRACKING_TOKEN) return { authorization: `Bearer ${env.MLFLOW_TRACKING_TOKEN}` };
  if (env.MLFLOW_TRACKING_USERNAME && env.MLFLOW_TRACKING_PASSWORD) {
    const pair = Buffer.from(`${env.MLFLOW_TRACKING_USERNAME}:${env.MLFLOW_TRACKING_PASSWORD}`).toString('base64');
    return { authorization: `Basic ${pair}` };
  }
  return {};
}

/** JSON with non-finite numbers spelled as protobuf's JSON mapping wants them. */
export function toMlflowJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => {
      if (typeof v === 'number' && !Number.isFinite(v)) return Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
      return v;
    },
    space,
  );
}

/** Reads a metric value back from JSON (the server answers "NaN" as a string). */
export function fromMlflowNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (value === 'NaN') return Number.NaN;
  if (value === 'Infinity') return Number.POSITIVE_INFINITY;
  if (value === '-Infinity') return Number.NEGATIVE_INFINITY;
  return Number(value);
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
  '.jsonl': 'application/x-ndjson',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/markdown',
  '.html': 'text/html',
  '.csv': 'text/csv',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
};

/**
 * The artifact proxy path of a run's artifact root, from the `artifact_uri`
 * the server gave the run. Runs of a server started with
 * `--artifacts-destination` (and the default `--default-artifact-root`) get
 * `mlflow-artifacts:/<experiment_id>/<run_id>/artifacts`; the proxy serves
 * them under `/api/2.0/mlflow-artifacts/artifacts/<experiment_id>/<run_id>/artifacts/...`.
 * Returns undefined for roots the proxy can't serve (s3://, file:// ...).
 */
export function proxiedArtifactRoot(artifactUri: string): string | undefined {
  const match = /^mlflow-artifacts:(?:\/\/[^/]*)?(\/.*)$/.exec(artifactUri);
  if (match?.[1]) return match[1].replace(/\/+$/, '').replace(/^\/+/, '');
  const anchor = artifactUri.indexOf(`${ARTIFACTS_API}/`);
  if (/^https?:\/\//.test(artifactUri) && anchor >= 0) return artifactUri.slice(anchor + ARTIFACTS_API.length + 1).replace(/\/+$/, '');
  return undefined;
}

/** Checks an artifact path is relative and stays inside the run's root. */
export function checkArtifactPath(path: string): string {
  const clean = path.replace(/\\/g, '/').replace(/^\.\//, '');
  if (clean === '' || clean.startsWith('/') || clean.split('/').some((s) => s === '..' || s === '')) {
    throw new Error(`artifact path '${path}' must be relative, without '..' or empty segments`);
  }
  return clean;
}

function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** A client of one MLflow tracking server. */
export class MlflowClient {
  readonly uri: string;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly retry: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;

  constructor(options: MlflowClientOptions) {
    this.uri = options.uri.replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+/.test(this.uri)) throw new Error(`MLflow tracking URI '${options.uri}' must be an http(s) URL`);
    this.ownsDispatcher = options.dispatcher === undefined;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connect: { timeout: 10_000 } });
    this.retry = { ...DEFAULT_RETRY, ...options.retry };
    this.timeoutMs = options.requestTimeoutMs ?? 30_000;
    this.headers = options.headers ?? authHeadersFromEnv();
  }

  /** Closes the client's own connection pool (not a dispatcher it was given). */
  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }

  /**
   * Runs `attempt` until it succeeds, fails with a non-retryable error, runs
   * out of attempts, or the policy's signal aborts (RetryAbortedError).
   */
  async withRetry<T>(attempt: () => Promise<T>, overrides?: Partial<RetryPolicy>): Promise<T> {
    const policy: RetryPolicy = { ...this.retry, ...overrides };
    for (let n = 1; ; n++) {
      if (policy.signal?.aborted) throw new RetryAbortedError(policy.signal.reason);
      try {
        return await attempt();
      } catch (error) {
        if (!isRetryableError(error) || n >= policy.maxAttempts) throw error;
        const retryAfter = error instanceof MlflowApiError ? error.retryAfterMs : undefined;
        const delay = backoffDelay(n, policy, retryAfter);
        policy.onRetry?.(error, n, delay);
        await sleep(delay, policy.signal, error);
      }
    }
  }

  /** One REST call under `/api/2.0/mlflow/`, retried per policy. */
  async call<T = Record<string, unknown>>(method: 'GET' | 'POST', endpoint: string, options: CallOptions = {}): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) query.set(k, String(v));
    const search = query.toString();
    const qs = search === '' ? '' : `?${search}`;
    const url = `${this.uri}${API}/${endpoint}${qs}`;
    const body = options.body === undefined ? undefined : toMlflowJson(options.body);
    return this.withRetry(async () => {
      const response = await request(url, {
        method,
        dispatcher: this.dispatcher,
        headers: { ...this.headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: options.retry?.signal ?? this.retry.signal,
      });
      const text = await response.body.text();
      if (response.statusCode >= 200 && response.statusCode < 300) return (text.trim() === '' ? {} : JSON.parse(text)) as T;
      throw this.apiError(endpoint, response.statusCode, response.headers['retry-after'], text);
    }, options.retry);
  }

  private apiError(endpoint: string, status: number, retryAfter: string | string[] | undefined, text: string): MlflowApiError {
    let errorCode = 'UNKNOWN';
    let message = text.slice(0, 500);
    try {
      const parsed = JSON.parse(text) as { error_code?: unknown; message?: unknown };
      if (typeof parsed.error_code === 'string') errorCode = parsed.error_code;
      if (typeof parsed.message === 'string') message = parsed.message.slice(0, 2000);
    } catch {
      // Not JSON (a proxy's error page): keep the text.
    }
    return new MlflowApiError(endpoint, status, errorCode, message, parseRetryAfter(retryAfter));
  }

  /** The experiment's id, or undefined when none has that name. */
  async getExperimentIdByName(name: string, retry?: Partial<RetryPolicy>): Promise<string | undefined> {
    try {
      const res = await this.call<{ experiment: { experiment_id: string } }>('GET', 'experiments/get-by-name', { query: { experiment_name: name }, retry });
      return res.experiment.experiment_id;
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST') return undefined;
      throw error;
    }
  }

  /**
   * The id of the experiment with this name, created when missing. Another
   * process may create it between the look-up and the create: MLflow answers
   * that with HTTP 400 RESOURCE_ALREADY_EXISTS, and we look it up again.
   */
  async getOrCreateExperiment(name: string, retry?: Partial<RetryPolicy>): Promise<string> {
    const existing = await this.getExperimentIdByName(name, retry);
    if (existing !== undefined) return existing;
    try {
      const res = await this.call<{ experiment_id: string }>('POST', 'experiments/create', { body: { name }, retry });
      return res.experiment_id;
    } catch (error) {
      if (error instanceof MlflowApiError && error.errorCode === 'RESOURCE_ALREADY_EXISTS') {
        const id = await this.getExperimentIdByName(name, retry);
        if (id !== undefined) return id;
      }
      throw error;
    }
  }

  async createRun(
    input: { experimentId: string; runName: string; startTime: number; tags: MlflowTag[]; userId?: string },
    retry?: Partial<RetryPolicy>,
  ): Promise<MlflowRunInfo> {
    const res = await this.call<{ run: MlflowRun }>('POST', 'runs/create', {
      body: { experiment_id: input.experimentId, run_name: input.runName, start_time: input.startTime, tags: input.tags, user_id: input.userId },
      retry,
    });
    return res.run.info;
  }

  /** The name of the experiment with this id. */
  async getExperimentName(experimentId: string, retry?: Partial<RetryPolicy>): Promise<string> {
    const res = await this.call<{ experiment: { name: string } }>('GET', 'experiments/get', { query: { experiment_id: experimentId }, retry });
    return res.experiment.name;
  }

  async getRun(runId: string, retry?: Partial<RetryPolicy>): Promise<MlflowRun> {
    const res = await this.call<{ run: MlflowRun }>('GET', 'runs/get', { query: { run_id: runId }, retry });
    return res.run;
  }

  /** Runs of an experiment matching an MLflow filter string. */
  async searchRuns(experimentIds: string[], filter: string, maxResults = 100, retry?: Partial<RetryPolicy>): Promise<MlflowRun[]> {
    const res = await this.call<{ runs?: MlflowRun[] }>('POST', 'runs/search', {
      body: { experiment_ids: experimentIds, filter, max_results: maxResults },
      retry,
    });
    return res.runs ?? [];
  }

  /** One runs/log-batch request; the caller keeps within the limits (see batching.ts). */
  async logBatch(runId: string, batch: { metrics?: MlflowMetric[]; params?: MlflowTag[]; tags?: MlflowTag[] }, retry?: Partial<RetryPolicy>): Promise<void> {
    await this.call('POST', 'runs/log-batch', { body: { run_id: runId, ...batch }, retry });
  }

  async updateRun(runId: string, status: string, endTime: number, retry?: Partial<RetryPolicy>): Promise<void> {
    await this.call('POST', 'runs/update', { body: { run_id: runId, status, end_time: endTime }, retry });
  }

  /** The whole history of one metric, following page tokens. */
  async getMetricHistory(runId: string, key: string, retry?: Partial<RetryPolicy>): Promise<MlflowMetric[]> {
    const out: MlflowMetric[] = [];
    let pageToken: string | undefined;
    do {
      const res = await this.call<{ metrics?: MlflowMetric[]; next_page_token?: string }>('GET', 'metrics/get-history', {
        query: { run_id: runId, metric_key: key, page_token: pageToken },
        retry,
      });
      for (const m of res.metrics ?? []) out.push({ ...m, value: fromMlflowNumber(m.value), step: Number(m.step), timestamp: Number(m.timestamp) });
      pageToken = res.next_page_token || undefined;
    } while (pageToken);
    return out;
  }

  /** Files and folders directly under `path` of a run's artifacts. */
  async listArtifacts(runId: string, path?: string, retry?: Partial<RetryPolicy>): Promise<MlflowFileInfo[]> {
    const res = await this.call<{ files?: MlflowFileInfo[] }>('GET', 'artifacts/list', { query: { run_id: runId, path }, retry });
    return res.files ?? [];
  }

  /**
   * Uploads a file through the artifact proxy to `<root>/<artifactPath>`,
   * where root is {@link proxiedArtifactRoot} of the run's artifact_uri.
   * The file is re-read on every attempt.
   */
  async uploadArtifact(root: string, artifactPath: string, localPath: string, retry?: Partial<RetryPolicy>): Promise<void> {
    const target = `${this.uri}${ARTIFACTS_API}/${encodePath(root)}/${encodePath(checkArtifactPath(artifactPath))}`;
    await this.withRetry(async () => {
      const size = (await stat(localPath)).size;
      const response = await request(target, {
        method: 'PUT',
        dispatcher: this.dispatcher,
        headers: { ...this.headers, 'content-type': MIME[extname(localPath).toLowerCase()] ?? 'application/octet-stream', 'content-length': String(size) },
        body: createReadStream(localPath),
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        signal: retry?.signal ?? this.retry.signal,
      });
      const text = await response.body.text();
      if (response.statusCode < 200 || response.statusCode >= 300) throw this.apiError('artifacts/upload', response.statusCode, response.headers['retry-after'], text);
    }, retry);
  }

  /** Downloads one artifact through the proxy. */
  async downloadArtifact(root: string, artifactPath: string, retry?: Partial<RetryPolicy>): Promise<Buffer> {
    const target = `${this.uri}${ARTIFACTS_API}/${encodePath(root)}/${encodePath(checkArtifactPath(artifactPath))}`;
    return this.withRetry(async () => {
      const response = await request(target, { method: 'GET', dispatcher: this.dispatcher, headers: this.headers, headersTimeout: this.timeoutMs, bodyTimeout: this.timeoutMs });
      const data = Buffer.from(await response.body.arrayBuffer());
      if (response.statusCode < 200 || response.statusCode >= 300) throw this.apiError('artifacts/download', response.statusCode, response.headers['retry-after'], data.toString('utf8'));
      return data;
    }, retry);
  }
}
