import { readFile } from 'node:fs/promises';
import { accuracyChart, extraCharts, lossChart, metricLabel, throughputChart, type ChartSpec } from './chart-spec';
import { asRecord, asString } from './files';
import { evenlySpaced, formatDuration, formatNumber, formatTime } from './format';
import { escapeHtml, imageDataUri } from './html';
import { chartCard, chip, jsonCard, stat, statusBadge } from './parts';
import { renderPage } from './page';
import { runBackend, runImagesPerSecond, runName, type RunData, type SampleFile } from './read-run';

/** Options of a run report. */
export interface RunReportOptions {
  /**
   * The most sample grids to embed; a longer run shows this many, evenly
   * spaced, always with the first and last epoch (each grid is a whole PNG).
   * @default 80
   */
  readonly maxSamples?: number;
}

/** The report of one run as a self-contained HTML document. */
export async function renderRunReport(run: RunData, options: RunReportOptions = {}): Promise<string> {
  const maxSamples = options.maxSamples ?? 80;
  // A grid as the page carries it: its epoch and the image inline.
  const embed = async (sample: SampleFile) => ({ epoch: sample.epoch, src: imageDataUri(await readFile(sample.path), sample.path) });
  const samples = await Promise.all(evenlySpaced(run.samples, maxSamples).map(embed));
  const memorisation = run.memorisationPath === undefined ? undefined : imageDataUri(await readFile(run.memorisationPath), run.memorisationPath);
  const lastEma = run.emaSamples.at(-1);
  const ema = lastEma === undefined ? undefined : await embed(lastEma);
  const lastRaw = run.samples.find((sample) => sample.epoch === lastEma?.epoch);
  const raw = lastRaw === undefined ? undefined : await embed(lastRaw);

  const loss = lossChart(run.metrics);
  const accuracy = accuracyChart(run.metrics);
  const extras = extraCharts(run.metrics);
  const throughput = throughputChart(run.metrics);
  const charts: ChartSpec[] = [loss, accuracy, ...extras, ...(throughput ? [throughput] : [])];
  const name = runName(run);

  const body = `${runHeader(run, name)}
<main>
${statsRow(run)}
<div class="grid lead">
${samplesCard(samples.length, run.samples.length)}
<div class="stack">
${chartCard(loss)}
${chartCard(accuracy)}
</div>
</div>
${extras.length > 0 || throughput ? `<div class="grid two">\n${[...extras, ...(throughput ? [throughput] : [])].map(chartCard).join('\n')}\n</div>` : ''}
${ema ? emaCards(ema, raw) : ''}
<div class="grid two">
${memorisationCard(memorisation)}
${findingsCard(run)}
</div>
<div class="grid">
${jsonCard('Resolved experiment', 'experiment.resolved.json', run.experiment)}
${run.run ? jsonCard('Run record', 'run.json', run.run.raw) : ''}
</div>
<footer>Run directory: ${escapeHtml(run.dir)} · report written ${escapeHtml(formatTime(new Date().toISOString()))}</footer>
</main>`;
  return renderPage({ title: `${name} · duel run report`, body, data: { kind: 'run', charts, samples }, scripts: ['charts', 'report'] });
}

function runHeader(run: RunData, name: string): string {
  const status = run.run?.status ?? 'no run.json';
  const imagesPerSecond = runImagesPerSecond(run);
  const last = run.metrics.at(-1);
  const chips: [string, string][] = [];
  const backend = runBackend(run);
  if (backend) chips.push(['backend', backend]);
  if (imagesPerSecond !== undefined) chips.push(['images/s', formatNumber(imagesPerSecond)]);
  const planned = asRecord(run.experiment?.trainer)?.epochs;
  if (last) chips.push(['epochs', typeof planned === 'number' ? `${last.epoch} / ${planned}` : String(last.epoch)]);
  if (last?.values.step !== undefined) chips.push(['steps', String(last.values.step)]);
  const duration = runDuration(run);
  if (duration !== undefined) chips.push(['time', formatDuration(duration)]);
  if (run.run?.started) chips.push(['started', formatTime(run.run.started)]);
  return `<header class="top"><div class="inner">
<div><div class="kind">duel run</div><h1>${escapeHtml(name)}</h1></div>
${statusBadge(status)}
<div class="chips">${chips.map(chip).join('')}</div>
<div class="chips">${setupChips(run.experiment).map(chip).join('')}</div>
</div></header>`;
}

/** The parts of the experiment a reader wants at a glance. */
function setupChips(experiment: Record<string, unknown> | undefined): [string, string][] {
  if (!experiment) return [];
  const type = (value: unknown) => asString(asRecord(value)?.type);
  const model = asRecord(experiment.model);
  const trainer = asRecord(experiment.trainer);
  const chips: [string, string | undefined][] = [
    ['data', type(experiment.data)],
    ['G', type(model?.generator)],
    ['D', type(model?.discriminator)],
    ['loss', type(experiment.loss)],
    ['batch', trainer?.batchSize === undefined ? undefined : String(trainer.batchSize)],
    ['seed', experiment.seed === undefined ? undefined : String(experiment.seed)],
  ];
  return chips.filter((c): c is [string, string] => c[1] !== undefined);
}

/** Wall time: run.json's start to end, else the epochs' seconds added up. */
function runDuration(run: RunData): number | undefined {
  const started = run.run?.started ? Date.parse(run.run.started) : NaN;
  const ended = run.run?.ended ? Date.parse(run.run.ended) : NaN;
  if (Number.isFinite(started) && Number.isFinite(ended) && ended >= started) return (ended - started) / 1000;
  const seconds = run.metrics.map((row) => row.values.seconds).filter((v): v is number => v !== undefined);
  return seconds.length === 0 ? undefined : seconds.reduce((a, b) => a + b, 0);
}

function statsRow(run: RunData): string {
  const last = run.metrics.at(-1);
  if (!last) return `<div class="stats"><div class="stat"><div class="v">0</div><div class="k">epochs in metrics.jsonl</div></div></div>`;
  const keys = ['d_loss', 'g_loss', 'd_acc', 'g_acc', ...Object.keys(last.values).filter((k) => ['fid', 'kid', 'diversity'].includes(k))];
  const stats = keys
    .filter((key) => last.values[key] !== undefined)
    .map((key) => stat(formatNumber(last.values[key]!), `${metricLabel(key)} · epoch ${last.epoch}`));
  stats.push(stat(String(run.findings.length), run.findings.length === 1 ? 'diagnostic finding' : 'diagnostic findings'));
  return `<div class="stats">${stats.join('')}</div>`;
}

function samplesCard(shown: number, total: number): string {
  if (shown === 0) {
    return `<section class="card samples"><h2>Samples</h2><p class="empty">No sample grids (samples/epoch-NNNN.png) in this run.</p></section>`;
  }
  const note = shown < total ? `<p class="note">Showing ${shown} of ${total} grids, evenly spaced.</p>` : '';
  return `<section class="card samples"><h2>Samples <span class="sub">fixed latent batch, per epoch</span></h2>
<figure><img id="sample-image" alt="Generated samples"></figure>
<div class="slider-row">
<button type="button" id="sample-play">\u25B6 Play</button>
<input type="range" id="sample-slider" min="0" max="${shown - 1}" step="1" value="${shown - 1}" aria-label="Epoch">
<span class="epoch" id="sample-label"></span>
</div>${note}
</section>`;
}

/** The EMA generator's latest grid beside the last step's generator's grid of the same epoch and latent batch. */
function emaCards(ema: { epoch: number; src: string }, raw: { epoch: number; src: string } | undefined): string {
  const card = (title: string, sub: string, src: string) =>
    `<section class="card samples"><h2>${escapeHtml(title)} <span class="sub">${escapeHtml(sub)}</span></h2><figure><img src="${src}" alt="${escapeHtml(title)}"></figure></section>`;
  return `<div class="grid two">
${raw ? card("Last step's generator", `epoch ${raw.epoch}`, raw.src) : ''}
${card('EMA generator', `epoch ${ema.epoch}, the same latent batch (ema-generator callback)`, ema.src)}
</div>`;
}

function memorisationCard(src: string | undefined): string {
  const content =
    src === undefined
      ? `<p class="empty">No memorisation.png in this run.</p>`
      : `<img src="${src}" alt="Generated samples beside their nearest training images">
<p class="note">Each generated sample beside its nearest training image: near-copies would mean the generator memorised the data.</p>`;
  return `<section class="card memorisation"><h2>Memorisation check</h2>${content}</section>`;
}

function findingsCard(run: RunData): string {
  const content =
    run.findings.length === 0
      ? `<p class="empty">No findings.</p>`
      : `<div class="table-scroll"><table><thead><tr><th class="num">Epoch</th><th>Kind</th><th>Message</th></tr></thead><tbody>
${run.findings
  .map(
    (f) =>
      `<tr><td class="num">${f.epoch === undefined ? '' : escapeHtml(String(f.epoch))}</td><td><span class="kind-badge">${escapeHtml(f.kind)}</span></td><td>${escapeHtml(f.message)}</td></tr>`,
  )
  .join('\n')}
</tbody></table></div>`;
  return `<section class="card diagnostics"><h2>Diagnostics <span class="sub">${run.findings.length} finding${run.findings.length === 1 ? '' : 's'}</span></h2>${content}</section>`;
}
