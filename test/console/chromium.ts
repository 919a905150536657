/**
 * Debian's Chromium driven by playwright-core (../shared/COMPONENTS.md, "Browser and web console"):
 * no browser download ever (never `playwright install`), the exact launch flags, and a skip reason
 * only when Chromium is missing and cannot be installed here.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const chromiumPath = '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where the console tests leave their screenshots (gitignored). */
export const artifactsDir = resolve(import.meta.dirname, '../../test-artifacts/console');

/**
 * Undefined when Chromium is there (installed now with apt-get when it is missing and this process
 * may install packages), else why the browser tests cannot run.
 */
export function chromiumSkipReason(): string | undefined {
  if (existsSync(chromiumPath)) return undefined;
  if (process.getuid?.() !== 0) {
    return `${chromiumPath} is missing and installing Debian's chromium needs root: run .ci/run, or apt-get install -y chromium`;
  }
  if (!existsSync('/usr/bin/apt-get'))
    return `${chromiumPath} is missing and there is no apt-get to install it`;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { env, stdio: 'ignore', timeout: 600_000 });
  try {
    install();
  } catch {
    try {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore', timeout: 300_000 });
      install();
    } catch (error) {
      return `${chromiumPath} is missing and apt-get install -y chromium failed: ${(error as Error).message}`;
    }
  }
  return existsSync(chromiumPath)
    ? undefined
    : `apt-get installed chromium but ${chromiumPath} is still missing`;
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page (a CSP violation shows up here). */
  readonly problems: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'steward-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: chromiumArgs,
    viewport: { width: 1360, height: 900 },
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  await mkdir(artifactsDir, { recursive: true });
  return {
    context,
    page,
    problems,
    screenshot: async (name) => {
      const path = join(artifactsDir, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      return path;
    },
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
