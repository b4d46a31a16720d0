// Launching Debian's Chromium for the browser tests, shared by every e2e/*.e2e.mjs script.
import { chromium } from 'playwright-core';

/**
 * Headless Chromium with `extraArgs` added. As root Chromium needs --no-sandbox; with no
 * internet, nothing in the background may try to reach Google (updates, sync, safe browsing,
 * field trials).
 */
export function launchChromium(executablePath, extraArgs = []) {
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-background-networking',
      '--disable-sync',
      '--disable-component-update',
      '--disable-default-apps',
      '--disable-extensions',
      '--no-first-run',
      '--disable-features=Translate,OptimizationHints,MediaRouter',
      '--metrics-recording-only',
      '--disable-dev-shm-usage',
      ...extraArgs,
    ],
  });
}
