import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Flags for a quiet, offline headless Chromium: no sandbox (containers run as
 * root), no GPU, and none of the background traffic (updates, sync, QUIC probes).
 */
export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where Chromium is: `$DUEL_CHROMIUM`, else `/usr/bin/chromium`; `undefined` when it is not there. */
export function chromiumExecutable(): string | undefined {
  const path = process.env.DUEL_CHROMIUM || '/usr/bin/chromium';
  return existsSync(path) ? path : undefined;
}

/** Options of {@link launchChromium}. */
export interface LaunchOptions {
  /** @default chromiumExecutable() */
  readonly executablePath?: string;
  /** @default { width: 1360, height: 900 } */
  readonly viewport?: { readonly width: number; readonly height: number };
  /** Device pixels per CSS pixel (2 gives crisp screenshots). @default 1 */
  readonly deviceScaleFactor?: number;
}

/** A running headless Chromium with a throwaway profile. */
export interface ChromiumSession {
  readonly context: BrowserContext;
  newPage(): Promise<Page>;
  /** Closes the browser and deletes its profile folder. */
  close(): Promise<void>;
}

/**
 * Starts headless Chromium (Debian's package, driven by playwright-core) with
 * a fresh user-data-dir, so no state leaks between runs.
 */
export async function launchChromium(options: LaunchOptions = {}): Promise<ChromiumSession> {
  const executablePath = options.executablePath ?? chromiumExecutable();
  if (executablePath === undefined) {
    throw new Error(
      `Chromium not found at ${process.env.DUEL_CHROMIUM || '/usr/bin/chromium'}: install it (apt-get install -y chromium) or set DUEL_CHROMIUM`,
    );
  }
  const profile = await mkdtemp(join(tmpdir(), 'duel-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath,
      headless: true,
      args: [...CHROMIUM_ARGS],
      viewport: options.viewport ?? { width: 1360, height: 900 },
      deviceScaleFactor: options.deviceScaleFactor ?? 1,
      offline: true,
    });
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
  return {
    context,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
