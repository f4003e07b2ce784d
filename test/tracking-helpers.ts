/** Reading runs back from a real MLflow server, for the tracking integration tests. */
import { MlflowClient, proxiedArtifactRoot, type MlflowFileInfo } from '../packages/tracking/src/index';

/** Every file under a run's artifact root, recursively. */
export async function listAllArtifacts(client: MlflowClient, runId: string, path?: string): Promise<MlflowFileInfo[]> {
  const out: MlflowFileInfo[] = [];
  for (const entry of await client.listArtifacts(runId, path)) {
    if (entry.is_dir) out.push(...(await listAllArtifacts(client, runId, entry.path)));
    else out.push(entry);
  }
  return out;
}

/** Downloads one artifact of a run through the proxy. */
export async function downloadRunArtifact(client: MlflowClient, runId: string, path: string): Promise<Buffer> {
  const run = await client.getRun(runId);
  const root = proxiedArtifactRoot(run.info.artifact_uri);
  if (!root) throw new Error(`run ${runId} has artifact root ${run.info.artifact_uri}, not served by the proxy`);
  return client.downloadArtifact(root, path);
}

/** A run's params and tags as plain maps. */
export async function runData(client: MlflowClient, runId: string) {
  const run = await client.getRun(runId);
  return {
    info: run.info,
    params: Object.fromEntries((run.data.params ?? []).map((p) => [p.key, p.value])),
    tags: Object.fromEntries((run.data.tags ?? []).map((t) => [t.key, t.value])),
  };
}
