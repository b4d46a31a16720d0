// What every browser scenario script shares: its settings from the environment, named
// scenarios with a screenshot each and "ok - …" / "not ok - …" lines, logging in, and asking
// the bot a question in Try it.
//
// Settings: ADMIN_URL (default http://127.0.0.1:8080), ADMIN_PASSWORD (required), CHROMIUM
// (default /usr/bin/chromium), SCREENSHOT_DIR (default e2e-output/), ADMIN_BUSINESS (default
// himalayan_kitchen).
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';

export const base = (process.env.ADMIN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
export const password = process.env.ADMIN_PASSWORD;
export const shots = resolve(process.env.SCREENSHOT_DIR ?? 'e2e-output');
export const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const business = process.env.ADMIN_BUSINESS ?? 'himalayan_kitchen';
if (!password) {
  console.error('ADMIN_PASSWORD is not set');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}

/**
 * Runs named scenarios in `browser`, each in a fresh context (its own session) with the given
 * viewport; a page error or console error fails the scenario; a full-page screenshot is saved
 * whatever happens. `finish(label)` prints "<label>: N passed, N failed" and exits.
 */
export function scenarios(browser) {
  const results = [];
  async function scenario(name, viewport, body) {
    const context = await browser.newContext({ viewport, baseURL: base });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
    });
    const file = name.replace(/[^a-z0-9]+/gi, '-').toLowerCase().slice(0, 100);
    try {
      await body(page);
      if (problems.length) throw new Error(problems.join('; '));
      results.push([name, null]);
      console.log(`ok - ${name}`);
    } catch (error) {
      results.push([name, error]);
      console.log(`not ok - ${name}: ${String(error?.message ?? error).split('\n')[0]}`);
    } finally {
      await page.screenshot({ path: `${shots}/${file}.png`, fullPage: true }).catch(() => {});
      await context.close();
    }
  }
  async function finish(label) {
    await browser.close();
    const failed = results.filter(([, e]) => e).length;
    for (const [name, error] of results) if (error) console.error(`\n--- ${name}\n${error?.stack ?? error}`);
    console.log(`${label}: ${results.length - failed} passed, ${failed} failed (screenshots in ${shots})`);
    process.exit(failed ? 1 : 0);
  }
  return { scenario, finish };
}

/** Logs in with the admin password and chooses the test's business. */
export async function login(page) {
  await page.goto('/admin/');
  await page.getByLabel(/Admin password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await page.locator('#business-picker').selectOption(business);
}

/** Opens a page from the navigation by its English or Hindi label. */
export async function openPage(page, english, hindi) {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: new RegExp(`^(${english}|${hindi})$`) }).click();
}

/** Starts a conversation in Try it, asks `question`, and returns the bot's reply. */
export async function askTryIt(page, question) {
  await openPage(page, 'Try it', 'आज़माएँ');
  await page.getByRole('button', { name: /Start a conversation|बातचीत शुरू करें/ }).click();
  await page.locator('[data-who="bot"]').first().waitFor();
  await page.locator('#try-text').fill(question);
  await page.getByRole('button', { name: /^(Send|भेजें)$/ }).click();
  const reply = page.locator('[data-who="bot"]').nth(1);
  await reply.waitFor();
  return reply.innerText();
}
