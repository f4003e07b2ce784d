/**
 * @duel/report: self-contained HTML reports of runs and sweeps, and the PNG
 * loss plot for a README, both drawn with Chart.js in the browser.
 */
export { writeReport, type WriteReportOptions } from './write-report';
export { renderLossPlotPng, type LossPlotOptions } from './loss-plot';
export { launchChromium, chromiumExecutable, CHROMIUM_ARGS, type ChromiumSession, type LaunchOptions } from './chromium';
export { readRun, type RunData, type MetricRow, type Finding, type SampleFile, type RunSummary } from './read-run';
export { readSweep, type SweepData, type TrialData } from './read-sweep';
