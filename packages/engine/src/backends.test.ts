import * as tf from '@tensorflow/tfjs';
import { PluginToken, UserInputError } from '@duel/core';
import type { AnyPlugin } from '@duel/core';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { autoBackend, createAutoBackend, createBackend, tensorflowBackend } from './backends';
import type { BackendName, EngineBackend } from './backends';
import { engineModule } from './module';
import { probeTfjsNode } from './tfjs-node';

/** A backend that can or cannot run, recording whether it was activated (fakes are for unit tests only). */
function fake(name: BackendName, reason: string | undefined, log: string[]): EngineBackend {
  return {
    name,
    active: undefined,
    async unavailableReason() {
      return reason;
    },
    async available() {
      return reason === undefined;
    },
    async activate() {
      log.push(name);
      (this as { active: unknown }).active = { name, description: `${name} (fake)` };
    },
  };
}

describe('backend selection', () => {
  it('auto takes the first that can run, in the order tensorflow, wasm, cpu', async () => {
    const log: string[] = [];
    const auto = createAutoBackend({}, {
      tensorflow: () => fake('tensorflow', 'the tfjs-node addon is not built', log),
      wasm: () => fake('wasm', undefined, log),
      cpu: () => fake('cpu', undefined, log),
    });
    await auto.activate();
    expect(log).toEqual(['wasm']);
    expect(auto.active?.name).toBe('wasm');
    expect(auto.active?.description).toContain('skipped tensorflow: the tfjs-node addon is not built');
  });

  it('auto fails with every reason when nothing can run', async () => {
    const log: string[] = [];
    const auto = createAutoBackend({}, {
      tensorflow: () => fake('tensorflow', 'no addon', log),
      wasm: () => fake('wasm', 'not installed', log),
      cpu: () => fake('cpu', 'gone', log),
    });
    expect(await auto.available()).toBe(false);
    await expect(auto.activate()).rejects.toThrow(/backend 'auto' is not available: tensorflow: no addon; wasm: not installed; cpu: gone/);
    expect(log).toEqual([]);
  });

  it('names the valid backends when asked for an unknown one', () => {
    expect(() => createBackend('tpu')).toThrow(UserInputError);
    expect(() => createBackend('tpu')).toThrow(/unknown backend 'tpu': use one of auto, tensorflow, wasm, cpu/);
  });

  it('reports bad options with their path', () => {
    expect(() => createBackend('tensorflow', { device: 'tpu' })).toThrow(/backend\.options\.device/);
    expect(tensorflowBackend.options.safeParse({ intraOpThreads: -1 }).success).toBe(false);
    expect(autoBackend.options.parse({})).toMatchObject({ tensorflow: { device: 'auto', fusedKernels: true } });
  });

  it('a missing package is a UserInputError that says what to do', async () => {
    // tfjs-node-gpu is an optional install; when absent, asking for it must say so.
    const gpu = probeTfjsNode('@tensorflow/tfjs-node-gpu');
    const backend = createBackend('tensorflow', { device: 'gpu' });
    if (gpu.problem) {
      await expect(backend.activate()).rejects.toThrow(UserInputError);
      await expect(backend.activate()).rejects.toThrow(`backend 'tensorflow' is not available: ${gpu.problem}`);
      expect(gpu.problem).toMatch(/not installed|not built; run node scripts\/setup-tensorflow\.mjs --gpu|found no GPU/);
    } else {
      expect(await backend.available()).toBe(true);
    }
  });

  it('the real auto picks tensorflow exactly when its addon is built, and says which ran', async () => {
    const cpuAddon = probeTfjsNode('@tensorflow/tfjs-node');
    const auto = createBackend('auto');
    await auto.activate();
    expect(tf.getBackend()).toBe(cpuAddon.problem ? 'wasm' : 'tensorflow');
    expect(auto.active?.name).toBe(tf.getBackend());
    expect(auto.active?.description).toMatch(/^(tensorflow|wasm) \(/);
    // Asking whether another backend can run does not switch away from this one.
    expect(await createBackend('cpu').available()).toBe(true);
    expect(tf.getBackend()).toBe(auto.active?.name);
    await createBackend('cpu').activate();
    expect(tf.getBackend()).toBe('cpu');
  });

  it('binds the four backend plugins', async () => {
    const container = new Container();
    await container.load(engineModule);
    const bound = container.getAll<AnyPlugin>(PluginToken);
    expect(bound.map((p) => `${p.kind}:${p.name}`)).toEqual(['backend:auto', 'backend:tensorflow', 'backend:wasm', 'backend:cpu']);
  });
});
