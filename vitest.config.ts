import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Integration tests talk to a real MLflow server started once for the run.
const globalSetup = ['test/setup/mlflow.ts'].filter((file) => existsSync(file));

export default defineConfig({
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup,
    // tfjs-node's native addon and TensorFlow's thread pools want processes, not worker threads.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    testTimeout: 120_000,
    // Generous: set-up hooks train classifiers and start servers, on two shared cores.
    hookTimeout: 420_000,
    reporters: ['default'],
  },
});
