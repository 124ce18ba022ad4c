/**
 * The headless browser the viewer and Mermaid tests drive: Debian's chromium (installed by
 * .ci/run), or the one CHROMIUM_PATH names. Without one the tests skip with one clear line.
 */
import { existsSync } from 'node:fs';
import type { Browser } from 'puppeteer-core';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];

export const browserPath = (): string | undefined => {
  const env = process.env.CHROMIUM_PATH;
  if (env !== undefined && env !== '') return existsSync(env) ? env : undefined;
  return CANDIDATES.find((p) => existsSync(p));
};

export const NO_BROWSER = 'no headless browser (apt-get install -y chromium, or set CHROMIUM_PATH): browser tests skipped';

export const launchBrowser = async (path: string): Promise<Browser> => {
  const { default: puppeteer } = await import('puppeteer-core');
  // --no-sandbox: CI runs as root, where chromium refuses its sandbox.
  return puppeteer.launch({ executablePath: path, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
};
