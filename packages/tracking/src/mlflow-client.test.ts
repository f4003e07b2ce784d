import { createServer } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MlflowApiError, MlflowClient, proxiedArtifactRoot, toMlflowJson } from './mlflow-client';
import { FakeMlflow } from './testing/fake-mlflow';

const fast = { baseDelayMs: 1, maxDelayMs: 5 };

describe('MlflowClient against a mocked server', () => {
  let fake: FakeMlflow;
  let client: MlflowClient;
  beforeEach(() => {
    fake = new FakeMlflow();
    client = new MlflowClient({ uri: fake.origin, dispatcher: fake.agent, retry: fast });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('creates a missing experiment and reuses an existing one', async () => {
    const id = await client.getOrCreateExperiment('dcgan');
    expect(await client.getOrCreateExperiment('dcgan')).toBe(id);
    expect(fake.calls('experiments/create')).toHaveLength(1);
  });

  it('takes 400 RESOURCE_ALREADY_EXISTS (a race with another process) as success', async () => {
    // Another process creates the experiment between our look-up and our create.
    fake.faults.push((req) => {
      if (!req.path.includes('experiments/create')) return undefined;
      fake.experiments.set('race', '77');
      return { statusCode: 400, body: { error_code: 'RESOURCE_ALREADY_EXISTS', message: 'Experiment(name=race) already exists.' } };
    });
    expect(await client.getOrCreateExperiment('race')).toBe('77');
    expect(fake.calls('experiments/get-by-name')).toHaveLength(2);
  });

  it('does not take other 400s for an existing experiment', async () => {
    fake.fail(1, { statusCode: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'bad name' } }, 'experiments/create');
    const error = await client.getOrCreateExperiment('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MlflowApiError);
    expect((error as MlflowApiError).errorCode).toBe('INVALID_PARAMETER_VALUE');
    expect(fake.calls('experiments/create')).toHaveLength(1);
  });

  it('waits as long as a 429 Retry-After asks, then succeeds', async () => {
    const slowClient = new MlflowClient({ uri: fake.origin, dispatcher: fake.agent, retry: { baseDelayMs: 1, maxDelayMs: 10_000 } });
    fake.fail(1, { statusCode: 429, headers: { 'retry-after': '1' }, body: { error_code: 'REQUEST_LIMIT_EXCEEDED', message: 'slow down' } });
    const started = Date.now();
    await slowClient.getOrCreateExperiment('throttled');
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(fake.calls('experiments/get-by-name')).toHaveLength(2);
  });

  it('retries 503 then succeeds', async () => {
    fake.fail(2, { statusCode: 503, body: { error_code: 'TEMPORARILY_UNAVAILABLE', message: 'busy' } });
    const retries: number[] = [];
    await client.getOrCreateExperiment('e', { onRetry: (_e, attempt) => retries.push(attempt) });
    expect(retries).toEqual([1, 2]);
  });

  it('retries refused connections, and gives up after maxAttempts', async () => {
    fake.fail(2, 'refuse');
    await client.getOrCreateExperiment('e');
    fake.down = true;
    const before = fake.requests.length;
    const error = await client.getOrCreateExperiment('f', { maxAttempts: 3 }).catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(fake.requests.length - before).toBe(3);
  });

  it('does not retry a 400', async () => {
    fake.fail(1, { statusCode: 400, body: { error_code: 'INVALID_PARAMETER_VALUE', message: 'no' } }, 'log-batch');
    const exp = await client.getOrCreateExperiment('e');
    const run = await client.createRun({ experimentId: exp, runName: 'r', startTime: 1, tags: [] });
    await expect(client.logBatch(run.run_id, { metrics: [{ key: 'a', value: 1, step: 0, timestamp: 1 }] })).rejects.toMatchObject({ status: 400 });
    expect(fake.calls('runs/log-batch')).toHaveLength(1);
  });

  it('sends non-finite metric values as protobuf JSON strings', async () => {
    const exp = await client.getOrCreateExperiment('e');
    const run = await client.createRun({ experimentId: exp, runName: 'r', startTime: 1, tags: [] });
    await client.logBatch(run.run_id, { metrics: [{ key: 'a', value: Number.NaN, step: 0, timestamp: 1 }, { key: 'a', value: -Infinity, step: 1, timestamp: 1 }] });
    const sent = fake.calls('runs/log-batch')[0]!.body as { metrics: { value: unknown }[] };
    expect(sent.metrics.map((m) => m.value)).toEqual(['NaN', '-Infinity']);
  });
});

describe('MlflowClient against a closed port', () => {
  it('fails with ECONNREFUSED after its attempts', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const client = new MlflowClient({ uri: `http://127.0.0.1:${port}`, retry: { maxAttempts: 3, ...fast } });
    const retries: number[] = [];
    const error = await client.getOrCreateExperiment('x', { onRetry: (_e, n) => retries.push(n) }).catch((e: unknown) => e);
    await client.close();
    expect((error as { code?: string }).code).toBe('ECONNREFUSED');
    expect(retries).toEqual([1, 2]);
  });
});

describe('helpers', () => {
  it('maps artifact URIs to proxy paths', () => {
    expect(proxiedArtifactRoot('mlflow-artifacts:/3/abc/artifacts')).toBe('3/abc/artifacts');
    expect(proxiedArtifactRoot('mlflow-artifacts://host:5000/3/abc/artifacts')).toBe('3/abc/artifacts');
    expect(proxiedArtifactRoot('http://h:5000/api/2.0/mlflow-artifacts/artifacts/3/abc/artifacts')).toBe('3/abc/artifacts');
    expect(proxiedArtifactRoot('s3://bucket/3/abc/artifacts')).toBeUndefined();
    expect(proxiedArtifactRoot('/tmp/mlruns/3/abc/artifacts')).toBeUndefined();
  });
  it('spells non-finite numbers', () => {
    expect(toMlflowJson({ a: Number.NaN, b: Infinity, c: 1 })).toBe('{"a":"NaN","b":"Infinity","c":1}');
  });
});
