/**
 * Unit tests only: an in-memory MLflow on an undici MockAgent, enough of the
 * REST API for the tracker (experiments, runs, log-batch with the real
 * server's limits, update, search, artifact PUT), with injectable faults.
 * The integration tests in test/ use a real server.
 */
import { MockAgent } from 'undici';

export interface FakeRequest {
  method: string;
  path: string;
  body: unknown;
  /** Raw body length in bytes (JSON requests). */
  bytes: number;
}

export interface FakeReply {
  statusCode: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** A fault answers one request instead of the fake: a reply, or 'refuse' (ECONNREFUSED). */
export type Fault = (req: FakeRequest) => FakeReply | 'refuse' | undefined;

interface FakeRun {
  info: { run_id: string; experiment_id: string; run_name: string; status: string; start_time: number; end_time?: number; artifact_uri: string; lifecycle_stage: string };
  params: Map<string, string>;
  tags: Map<string, string>;
  metrics: { key: string; value: unknown; timestamp: number; step: number }[];
}

const error = (statusCode: number, code: string, message: string): FakeReply => ({ statusCode, body: { error_code: code, message } });

export class FakeMlflow {
  readonly origin = 'http://mlflow.test';
  readonly agent = new MockAgent();
  readonly requests: FakeRequest[] = [];
  readonly experiments = new Map<string, string>();
  readonly runs = new Map<string, FakeRun>();
  readonly uploads: string[] = [];
  /** Consulted in order before the fake answers; the first that answers is removed. */
  readonly faults: Fault[] = [];
  /** Consulted after `faults`, and kept: a standing rule (e.g. refuse one metric name). */
  readonly rules: Fault[] = [];
  /** While true every request is refused. */
  down = false;
  private nextRun = 1;

  constructor() {
    this.agent.disableNetConnect();
    this.agent
      .get(this.origin)
      .intercept({ path: () => true, method: () => true })
      .reply((opts) => {
        const text = typeof opts.body === 'string' ? opts.body : '';
        const req: FakeRequest = { method: opts.method, path: opts.path, body: text ? JSON.parse(text) : undefined, bytes: Buffer.byteLength(text) };
        this.requests.push(req);
        if (this.down) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
        for (let i = 0; i < this.faults.length; i++) {
          const answer = this.faults[i]!(req);
          if (answer === undefined) continue;
          this.faults.splice(i, 1);
          if (answer === 'refuse') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
          return this.encode(answer);
        }
        for (const rule of this.rules) {
          const answer = rule(req);
          if (answer === 'refuse') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5000'), { code: 'ECONNREFUSED' });
          if (answer !== undefined) return this.encode(answer);
        }
        return this.encode(this.handle(req));
      })
      .persist();
  }

  /** The next `count` requests matching `path` get `reply`. */
  fail(count: number, reply: FakeReply | 'refuse', path?: string): void {
    for (let i = 0; i < count; i++) this.faults.push((req) => (path === undefined || req.path.includes(path) ? reply : undefined));
  }

  private encode(reply: FakeReply) {
    return { statusCode: reply.statusCode, data: reply.body === undefined ? '' : JSON.stringify(reply.body), responseOptions: { headers: { 'content-type': 'application/json', ...(reply.headers ?? {}) } } };
  }

  /** Requests to one endpoint (e.g. 'runs/log-batch'). */
  calls(endpoint: string): FakeRequest[] {
    return this.requests.filter((r) => r.path.split('?')[0]!.endsWith(endpoint));
  }

  /** What the fake itself answers (a fault may call it, then lose the answer). */
  handle(req: FakeRequest): FakeReply {
    const [path = '', query = ''] = req.path.split('?');
    const q = new URLSearchParams(query);
    const body = (req.body ?? {}) as Record<string, any>;
    if (req.method === 'PUT' && path.startsWith('/api/2.0/mlflow-artifacts/artifacts/')) {
      this.uploads.push(decodeURIComponent(path.slice('/api/2.0/mlflow-artifacts/artifacts/'.length)));
      return { statusCode: 200, body: {} };
    }
    const endpoint = path.replace('/api/2.0/mlflow/', '');
    switch (endpoint) {
      case 'experiments/get-by-name': {
        const id = this.experiments.get(q.get('experiment_name') ?? '');
        return id ? { statusCode: 200, body: { experiment: { experiment_id: id, name: q.get('experiment_name') } } } : error(404, 'RESOURCE_DOES_NOT_EXIST', 'no such experiment');
      }
      case 'experiments/get': {
        const name = [...this.experiments].find(([, id]) => id === q.get('experiment_id'))?.[0];
        return name !== undefined ? { statusCode: 200, body: { experiment: { experiment_id: q.get('experiment_id'), name } } } : error(404, 'RESOURCE_DOES_NOT_EXIST', 'no such experiment');
      }
      case 'experiments/create': {
        if (this.experiments.has(body.name)) return error(400, 'RESOURCE_ALREADY_EXISTS', `Experiment(name=${body.name}) already exists.`);
        const id = String(this.experiments.size + 1);
        this.experiments.set(body.name, id);
        return { statusCode: 200, body: { experiment_id: id } };
      }
      case 'runs/create': {
        const id = `run${this.nextRun++}`;
        const run: FakeRun = {
          info: { run_id: id, experiment_id: body.experiment_id, run_name: body.run_name, status: 'RUNNING', start_time: body.start_time, artifact_uri: `mlflow-artifacts:/${body.experiment_id}/${id}/artifacts`, lifecycle_stage: 'active' },
          params: new Map(),
          tags: new Map((body.tags ?? []).map((t: { key: string; value: string }) => [t.key, t.value])),
          metrics: [],
        };
        this.runs.set(id, run);
        return { statusCode: 200, body: { run: this.view(run) } };
      }
      case 'runs/get': {
        const run = this.runs.get(q.get('run_id') ?? '');
        return run ? { statusCode: 200, body: { run: this.view(run) } } : error(404, 'RESOURCE_DOES_NOT_EXIST', 'no such run');
      }
      case 'runs/search': {
        const uid = /`duel\.run_uid` = '([^']+)'/.exec(body.filter ?? '')?.[1];
        const runs = [...this.runs.values()].filter((r) => body.experiment_ids.includes(r.info.experiment_id) && (uid === undefined || r.tags.get('duel.run_uid') === uid));
        return { statusCode: 200, body: { runs: runs.map((r) => this.view(r)) } };
      }
      case 'runs/update': {
        const run = this.runs.get(body.run_id);
        if (!run) return error(404, 'RESOURCE_DOES_NOT_EXIST', 'no such run');
        run.info.status = body.status;
        if (body.end_time) run.info.end_time = body.end_time;
        return { statusCode: 200, body: { run_info: run.info } };
      }
      case 'runs/log-batch':
        return this.logBatch(req, body);
      default:
        return error(404, 'ENDPOINT_NOT_FOUND', `no endpoint ${endpoint}`);
    }
  }

  /** The real server's checks (mlflow/utils/validation.py). */
  private logBatch(req: FakeRequest, body: Record<string, any>): FakeReply {
    const run = this.runs.get(body.run_id);
    if (!run) return error(404, 'RESOURCE_DOES_NOT_EXIST', 'no such run');
    const metrics = (body.metrics ?? []) as FakeRun['metrics'];
    const params = (body.params ?? []) as { key: string; value: string }[];
    const tags = (body.tags ?? []) as { key: string; value: string }[];
    if (req.bytes > 1_000_000) return error(400, 'INVALID_PARAMETER_VALUE', `request of ${req.bytes} bytes`);
    if (metrics.length > 1000 || params.length > 100 || tags.length > 100 || metrics.length + params.length + tags.length > 1000) {
      return error(400, 'INVALID_PARAMETER_VALUE', 'A batch logging request can contain at most ...');
    }
    for (const x of [...metrics, ...params, ...tags]) {
      if (!/^[/\w.\- :]*$/.test(x.key) || x.key.length > 250) return error(400, 'INVALID_PARAMETER_VALUE', `Invalid key '${x.key}'`);
    }
    for (const p of params) {
      if (p.value.length > 6000) return error(400, 'INVALID_PARAMETER_VALUE', `Param value too long: ${p.key}`);
      const old = run.params.get(p.key);
      if (old !== undefined && old !== p.value) return error(400, 'INVALID_PARAMETER_VALUE', `Changing param values is not allowed: ${p.key}`);
    }
    for (const p of params) run.params.set(p.key, p.value);
    for (const m of metrics) {
      if (!run.metrics.some((o) => o.key === m.key && o.step === m.step && o.timestamp === m.timestamp && o.value === m.value)) run.metrics.push(m);
    }
    for (const t of tags) run.tags.set(t.key, t.value);
    return { statusCode: 200, body: {} };
  }

  private view(run: FakeRun) {
    return {
      info: run.info,
      data: {
        params: [...run.params].map(([key, value]) => ({ key, value })),
        tags: [...run.tags].map(([key, value]) => ({ key, value })),
        metrics: run.metrics,
      },
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }
}
