import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const clientDir = join(dirname(fileURLToPath(import.meta.url)), 'client');

let chartJs: Promise<string> | undefined;

/**
 * The Chart.js UMD build from node_modules, which defines `window.Chart` with
 * every chart type registered: inlined so the report needs no network.
 */
export function chartJsSource(): Promise<string> {
  // chart.js exports no package.json; its CommonJS entry sits beside the UMD build in dist/.
  chartJs ??= readFile(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartJs;
}

/** A browser-side script of this package (`src/client/<name>.js`). */
export function clientSource(name: 'charts' | 'report'): Promise<string> {
  return readFile(join(clientDir, `${name}.js`), 'utf8');
}
