import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { duel } from './support/cli';

const experiments = join(__dirname, '..', 'experiments');

describe('the CLI', () => {
  it.concurrent('--help lists the commands; an unknown command exits 2', async () => {
    const help = await duel(['--help']);
    expect(help.code).toBe(0);
    for (const command of ['train', 'describe', 'sample', 'sweep', 'evaluate', 'report', 'sync', 'plugins']) expect(help.stdout).toContain(`  ${command}`);
    const bad = await duel(['trian']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("unknown command 'trian'");
  });

  it.concurrent("describe prints the resolved experiment and both networks with the book's parameter counts", async () => {
    const result = await duel(['describe', join(experiments, 'dcgan-lego.yaml')]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Generator \(dcgan-generator\)[\s\S]*Total params: 3,576,576/);
    expect(result.stdout).toMatch(/Discriminator \(dcgan-discriminator\)[\s\S]*Total params: 2,765,312/);
    expect(result.stdout).toContain('(None, 64, 64, 1)');
    expect(result.stdout).toContain('"epochs": 300');
  });

  it.concurrent('the embedded default is experiments/dcgan-fashion-mnist.yaml', async () => {
    const embedded = await duel(['train', '--dry-run']);
    const file = await duel(['train', join(experiments, 'dcgan-fashion-mnist.yaml'), '--dry-run']);
    expect(embedded.code, embedded.stderr).toBe(0);
    expect(JSON.parse(embedded.stdout)).toEqual(JSON.parse(file.stdout));
  });

  it.concurrent('plugins lists every kind with descriptions', async () => {
    const result = await duel(['plugins']);
    expect(result.code, result.stderr).toBe(0);
    for (const name of ['dcgan-generator', 'bce-label-noise', 'wgan-gp', 'adam', 'image-folder', 'fashion-mnist', 'mlflow', 'diagnostics', 'domain-classifier', 'tensorflow']) {
      expect(result.stdout).toMatch(new RegExp(`^  ${name} +\\S`, 'm'));
    }
  });
});
