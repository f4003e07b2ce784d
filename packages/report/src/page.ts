import { chartJsSource, clientSource } from './assets';
import { escapeHtml, jsonForScript, scriptSource } from './html';

/** What every page built here shares: the head, the styles, the inlined scripts. */
export interface PageParts {
  readonly title: string;
  /** Trusted HTML: every piece of text in it must already be escaped. */
  readonly body: string;
  /** JSON handed to the browser side as `#duel-data`. */
  readonly data: unknown;
  /** Browser scripts of this package to run after Chart.js. */
  readonly scripts: readonly ('charts' | 'report')[];
  readonly extraCss?: string;
}

/** A complete self-contained HTML document. */
export async function renderPage(parts: PageParts): Promise<string> {
  const scripts = [await chartJsSource(), ...(await Promise.all(parts.scripts.map(clientSource)))];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(parts.title)}</title>
<style>${CSS}${parts.extraCss ?? ''}</style>
</head>
<body>
${parts.body}
<script type="application/json" id="duel-data">${jsonForScript(parts.data)}</script>
${scripts.map((source) => `<script>${scriptSource(source)}</script>`).join('\n')}
</body>
</html>
`;
}

const CSS = `
:root {
  --bg: #f1f5f9; --card: #ffffff; --ink: #0f172a; --muted: #64748b; --line: #e2e8f0;
  --accent: #2563eb; --ok: #15803d; --bad: #b91c1c; --warn: #b45309;
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
  font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; }
main { max-width: 1320px; margin: 0 auto; padding: 20px 24px 40px; }
header.top { background: #0f172a; color: #f8fafc; }
header.top .inner { max-width: 1320px; margin: 0 auto; padding: 18px 24px; display: flex; flex-wrap: wrap;
  align-items: center; gap: 10px 18px; }
header.top h1 { margin: 0; font-size: 22px; font-weight: 650; letter-spacing: -0.01em; }
header.top .kind { font-size: 12px; text-transform: uppercase; letter-spacing: .08em; color: #94a3b8; }
.chips { display: flex; flex-wrap: wrap; gap: 8px; }
.chip { display: inline-flex; gap: 6px; align-items: baseline; padding: 3px 10px; border-radius: 999px;
  background: #1e293b; color: #e2e8f0; font-size: 13px; white-space: nowrap; }
.chip b { color: #94a3b8; font-weight: 500; font-size: 11px; text-transform: uppercase; letter-spacing: .05em; }
.status { display: inline-block; font-weight: 700; font-size: 12px; letter-spacing: .06em; padding: 3px 10px; border-radius: 999px; }
.status-FINISHED { background: #dcfce7; color: var(--ok); }
.status-FAILED { background: #fee2e2; color: var(--bad); }
.status-KILLED { background: #fef3c7; color: var(--warn); }
.status-RUNNING { background: #dbeafe; color: var(--accent); }
.status-other { background: #e2e8f0; color: #334155; }
section.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 16px 18px; min-width: 0; }
section.card > h2 { margin: 0 0 12px; font-size: 15px; font-weight: 650; display: flex; align-items: baseline; gap: 8px; }
section.card > h2 .sub { color: var(--muted); font-weight: 400; font-size: 13px; }
.grid { display: grid; gap: 16px; margin-top: 16px; }
.grid.two { grid-template-columns: repeat(auto-fit, minmax(460px, 1fr)); }
.grid.three { grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); }
.grid.lead { grid-template-columns: minmax(360px, 5fr) minmax(420px, 7fr); }
@media (max-width: 900px) { .grid.lead { grid-template-columns: 1fr; } }
.stack { display: grid; gap: 16px; min-width: 0; }
.chart-box { position: relative; height: 260px; }
.stats { display: grid; grid-template-columns: repeat(auto-fit, minmax(130px, 1fr)); gap: 12px; margin-top: 16px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 10px 14px; }
.stat .v { font-size: 20px; font-weight: 650; font-variant-numeric: tabular-nums; }
.stat .k { color: var(--muted); font-size: 12px; }
.samples figure { margin: 0; }
.samples img, .memorisation img, .gallery img { display: block; width: 100%; height: auto; image-rendering: pixelated;
  border-radius: 6px; background: #0f172a; }
.slider-row { display: flex; align-items: center; gap: 12px; margin-top: 12px; }
.slider-row input[type=range] { flex: 1; accent-color: var(--accent); }
.slider-row .epoch { min-width: 92px; text-align: right; font-variant-numeric: tabular-nums; font-weight: 600; }
button { font: inherit; border: 1px solid var(--line); background: #f8fafc; border-radius: 6px; padding: 4px 10px; cursor: pointer; }
button:hover { background: #e2e8f0; }
.note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
.empty { color: var(--muted); font-style: italic; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
th.num { text-align: right; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[aria-sort=ascending]::after { content: ' \\25B2'; }
table.sortable th[aria-sort=descending]::after { content: ' \\25BC'; }
.table-scroll { overflow-x: auto; }
.kind-badge { display: inline-block; padding: 1px 8px; border-radius: 999px; background: #fef3c7; color: var(--warn);
  font-size: 12px; font-weight: 600; white-space: nowrap; }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 3px; vertical-align: -1px; margin-right: 6px; }
details > summary { cursor: pointer; font-weight: 650; font-size: 15px; }
pre { margin: 12px 0 0; padding: 12px 14px; background: #0f172a; color: #e2e8f0; border-radius: 8px; overflow: auto;
  font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; max-height: 560px; }
.gallery { display: grid; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); gap: 14px; }
.gallery figure { margin: 0; }
.gallery figcaption { font-size: 12px; color: var(--muted); margin-top: 6px; overflow-wrap: anywhere; }
.gallery figcaption b { color: var(--ink); }
header.top + main .legend-chip, .legend-chip { background: #f1f5f9; color: var(--ink); }
td .status { font-size: 11px; padding: 1px 8px; }
footer { color: var(--muted); font-size: 12px; margin-top: 24px; overflow-wrap: anywhere; }
`;
