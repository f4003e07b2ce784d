// Copies a run's last sample grid and memorisation check into docs/ and draws
// its loss curves (the README's figures). Usage:
//   node --import tsx scripts/readme-figures.ts <run-dir> <prefix>
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { renderLossPlotPng } from '@duel/report';

const [runDir, prefix = 'run'] = process.argv.slice(2);
if (!runDir) throw new Error('usage: readme-figures.ts <run-dir> <prefix>');
const docs = resolve('docs');
const grids = readdirSync(join(runDir, 'samples')).filter((n) => n.endsWith('.png')).sort();
copyFileSync(join(runDir, 'samples', grids[grids.length - 1]!), join(docs, `${prefix}-samples.png`));
if (existsSync(join(runDir, 'memorisation.png'))) copyFileSync(join(runDir, 'memorisation.png'), join(docs, `${prefix}-memorisation.png`));
await renderLossPlotPng(runDir, join(docs, `${prefix}-losses.png`), { width: 900, scale: 1 });
console.log(`docs/${prefix}-samples.png (${grids[grids.length - 1]}), docs/${prefix}-losses.png`);
