import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { definePlugin, partSchema, type Callback, type GanLoss, type Part, type PluginKind } from '@duel/core';
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
    /** Rollbacks allowed in one run; past that the policy acts as `stop`. @default 2 */
    maxRollbacks: z.number().int().nonnegative().default(2),
  })
  .strict();

/** What the diagnostics callback is given: a way to build a remedy's loss by name. */
export interface DiagnosticsContext {
  createPart<T>(kind: PluginKind, part: Part, path: string): Promise<T>;
  onArtifact?(path: string, artifactPath: string): void;
}

/**
 * Watches every epoch for the failures GAN runs are known for (the book: "the
 * discriminator tends to end up dominating") and applies the policy. Healthy
 * epochs are kept as the `healthy` snapshot that a rollback returns to.
 */
export const diagnostics = definePlugin({
  kind: 'callback',
  name: 'diagnostics',
  description: 'detects D dominating, mode collapse and non-finite losses; warn, stop or roll back',
  options: diagnosticsOptions,
  create(options, context: DiagnosticsContext): Callback {
    let rollbacks = 0;
    let reported = new Set<string>();
    return {
      name: 'diagnostics',
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
          // Only an epoch with nothing wrong, and D not already pinned, becomes the state a rollback returns to.
          const ongoing = detectProblems(view.history.slice(-1 - options.patience), realDiversity, { fakeAccuracyThreshold: options.fakeAccuracyThreshold, patience: options.patience });
          const pinned = metrics.d_fake_acc >= options.fakeAccuracyThreshold;
          if (ongoing.length === 0 && !pinned && Number.isFinite(metrics.d_loss) && Number.isFinite(metrics.g_loss)) await view.saveSnapshot('healthy');
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
        rollbacks += 1;
        const loss = options.remedy.loss ? await context.createPart<GanLoss>('loss', options.remedy.loss, 'callbacks.diagnostics.options.remedy.loss') : undefined;
        view.rollback({
          reason,
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

function record(runDir: string, finding: Finding, policy: string): void {
  appendFileSync(join(runDir, 'diagnostics.jsonl'), `${JSON.stringify({ ...finding, policy })}\n`);
}
