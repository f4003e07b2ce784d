import type { ChartSpec } from './chart-spec';
import { escapeHtml } from './html';

/** A card holding one chart's canvas; the browser side draws into it. */
export function chartCard(spec: ChartSpec): string {
  const body =
    spec.series.length === 0
      ? `<p class="empty">No values yet.</p>`
      : `<div class="chart-box"><canvas data-chart="${escapeHtml(spec.id)}" role="img" aria-label="${escapeHtml(spec.title)}"></canvas></div>`;
  return `<section class="card"><h2>${escapeHtml(spec.title)}</h2>${body}</section>`;
}

/** A collapsible card with a JSON value, pretty-printed. */
export function jsonCard(title: string, file: string, value: unknown): string {
  if (value === undefined) return `<section class="card"><h2>${escapeHtml(title)}</h2><p class="empty">No ${escapeHtml(file)}.</p></section>`;
  return `<section class="card"><details><summary>${escapeHtml(title)} <span class="note">${escapeHtml(file)}</span></summary>
<pre>${escapeHtml(JSON.stringify(value, null, 2))}</pre></details></section>`;
}

/** A status badge; known statuses get their colour. */
export function statusBadge(status: string): string {
  const known = ['FINISHED', 'FAILED', 'KILLED', 'RUNNING'].includes(status) ? status : 'other';
  return `<span class="status status-${known}">${escapeHtml(status)}</span>`;
}

/** A key/value chip of the header. */
export function chip([key, value]: [string, string]): string {
  return `<span class="chip"><b>${escapeHtml(key)}</b>${escapeHtml(value)}</span>`;
}

/** A headline figure with its caption. */
export function stat(value: string, key: string): string {
  return `<div class="stat"><div class="v">${escapeHtml(value)}</div><div class="k">${escapeHtml(key)}</div></div>`;
}
