import { appendFileSync, existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, partSchema, type Callback, type GanLoss, type Part, type PluginKind, type SavedState } from '@duel/core';
import { detectProblems, type Finding } from '@duel/metrics';

export const diagnosticsOptions = z
  .object({
    /**
     * What to do when a problem is found: `warn` logs it (log, tracker,
     * `diagnostics.jsonl`, the report); `stop` ends the run; `rollback` goes
     * back to the last healthy epoch and continues with `remedy`.
     * @default 'warn'
     */
    policy: z.enum(['warn', 'stop', 'rollback']).default('warn'),
    /** d_fake_acc at or above this counts as pinned. @default 0.98 */
    fakeAccuracyThreshold: z.number().min(0).max(1).default(0.98),
    /** Epochs D must stay pinned while g_loss climbs. @default 3 */
    patience: z.number().int().positive().default(3),
    /** Diversity below this fraction of the real data's is collapse (needs the evaluation callback). @default 0.5 */
    collapseFraction: z.number().min(0).max(1).default(0.5),
    /** The remedy applied after a rollback. */
    remedy: z
      .object({
        /** A loss to switch to, e.g. `{ type: bce-label-noise, options: { noise: 0.2 } }`. */
        loss: partSchema.optional(),
        /** @default 1 */
        discriminatorLearningRateFactor: z.number().positive().optional(),
        generatorLearningRateFactor: z.number().positive().optional(),
      })
      .strict()
      .default({ discriminatorLearningRateFactor: 0.5 }),
    /** Rollbacks allowed in one run; past that the policy acts as `stop`. @default 3 */
    maxRollbacks: z.number().int().nonnegative().default(3),
    /** Healthy epochs kept as snapshots (`checkpoints/healthy-0` is the newest). @default 3 */
    healthySnapshots: z.number().int().positive().default(3),
  })
  .strict();

/** What the diagnostics callback is given: a way to build a remedy's loss by name. */
export interface DiagnosticsContext {
  createPart<T>(kind: PluginKind, part: Part, path: string): Promise<T>;
  onArtifact?(path: string, artifactPath: string): void;
}

/**
 * Watches every epoch for the failures GAN runs are known for (the book: "the
 * discriminator tends to end up dominating") and applies the policy. The last
 * healthy epochs are kept as snapshots (`healthy-0`, `healthy-1`...): a
 * rollback returns to the newest, a second one further back.
 */
export const diagnostics = definePlugin({
  kind: 'callback',
  name: 'diagnostics',
  description: 'detects D dominating, mode collapse and non-finite losses; warn, stop or roll back',
  options: diagnosticsOptions,
  nested: (options) => (options.remedy.loss ? [{ kind: 'loss', part: options.remedy.loss, path: 'remedy.loss' }] : []),
  create(options, context: DiagnosticsContext): Callback {
    let rollbacks = 0;
    let reported = new Set<string>();
    // Set on resume when the run had rolled back with a remedy loss: it goes back in force.
    let remedyLossToRestore = false;
    const remedyLoss = () => context.createPart<GanLoss>('loss', options.remedy.loss!, 'callbacks.diagnostics.options.remedy.loss');
    return {
      name: 'diagnostics',
      // The rollback count and the remedy outlive a resume, so a resumed run neither
      // forgets its remedy nor gets maxRollbacks afresh. A rollback keeps them as they are.
      state: {
        saveState: (): SavedState => ({ data: { rollbacks, remedyLoss: rollbacks > 0 && options.remedy.loss !== undefined } }),
        restoreState(state: SavedState, reason) {
          if (reason === 'rollback') return;
          const data = state.data as { rollbacks: number; remedyLoss: boolean };
          rollbacks = data.rollbacks;
          remedyLossToRestore = data.remedyLoss;
        },
      },
      async onTrainStart(view) {
        if (!remedyLossToRestore) return;
        view.useLoss(await remedyLoss());
        view.log(`diagnostics: resumed after ${rollbacks} rollback(s); the remedy loss is back in force`);
      },
      async onEpochEnd(view, metrics) {
        const realDiversity = metrics['real_diversity'];
        const findings = detectProblems(view.history, realDiversity, {
          fakeAccuracyThreshold: options.fakeAccuracyThreshold,
          patience: options.patience,
          collapseFraction: options.collapseFraction,
        });
        const fresh = findings.filter((f) => !reported.has(`${f.kind}@${f.epoch}`));
        metrics['problems'] = fresh.length;
        if (fresh.length === 0) {
          // Only an epoch that shows no sign of a problem on its own (patience 1), with D not
          // pinned, becomes the state a rollback returns to.
          // (A single epoch: D dominance needs two epochs to show, which `pinned` covers.)
          const signs = detectProblems([metrics], realDiversity, {
            fakeAccuracyThreshold: options.fakeAccuracyThreshold,
            patience: 1,
            collapseFraction: options.collapseFraction,
          });
          const pinned = metrics.d_fake_acc >= options.fakeAccuracyThreshold;
          if (signs.length === 0 && !pinned) {
            rotateHealthy(view.runDir, options.healthySnapshots);
            await view.saveSnapshot('healthy-0');
          }
          return;
        }
        for (const finding of fresh) {
          reported.add(`${finding.kind}@${finding.epoch}`);
          record(view.runDir, finding, options.policy);
          view.log(`diagnostics: ${finding.kind} at epoch ${finding.epoch}: ${finding.message}`);
        }
        if (options.policy === 'warn') return;
        const reason = fresh.map((f) => f.kind).join(', ');
        if (options.policy === 'stop' || rollbacks >= options.maxRollbacks) {
          view.requestStop(`diagnostics: ${reason}${options.policy === 'rollback' ? ` (after ${rollbacks} rollbacks)` : ''}`);
          return;
        }
        // The first rollback returns to the newest healthy epoch; if training fails again
        // from there, the next goes one healthy snapshot further back.
        const to = Math.min(rollbacks, options.healthySnapshots - 1);
        rollbacks += 1;
        if (!existsSync(join(view.runDir, 'checkpoints', `healthy-${to}`))) {
          view.requestStop(`diagnostics: ${reason} (no healthy epoch to roll back to)`);
          return;
        }
        const loss = options.remedy.loss ? await remedyLoss() : undefined;
        view.rollback({
          reason,
          to: `healthy-${to}`,
          ...(loss ? { loss } : {}),
          ...(options.remedy.discriminatorLearningRateFactor !== undefined ? { discriminatorLearningRateFactor: options.remedy.discriminatorLearningRateFactor } : {}),
          ...(options.remedy.generatorLearningRateFactor !== undefined ? { generatorLearningRateFactor: options.remedy.generatorLearningRateFactor } : {}),
        });
        // Findings after the rollback are new events, even at the same epoch numbers.
        reported = new Set();
      },
    };
  },
});

/** healthy-0 -> healthy-1 -> ... ; the oldest beyond `keep` goes. */
function rotateHealthy(runDir: string, keep: number): void {
  const path = (i: number) => join(runDir, 'checkpoints', `healthy-${i}`);
  rmSync(path(keep - 1), { recursive: true, force: true });
  for (let i = keep - 2; i >= 0; i--) if (existsSync(path(i))) renameSync(path(i), path(i + 1));
}

function record(runDir: string, finding: Finding, policy: string): void {
  appendFileSync(join(runDir, 'diagnostics.jsonl'), `${JSON.stringify({ ...finding, policy })}\n`);
}
