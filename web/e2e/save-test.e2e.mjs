// "Save as test" in a real browser: open a logged phone call in the admin, save it as a
// conversation test, see where the server wrote it (and the refusal when the name is taken).
//
// Run by tests/e2e/admin_web.rs, which first places a simulated phone call (the call
// simulator against the real server) and afterwards runs `vartalaap test` on the written file.
// By hand: ADMIN_URL=… ADMIN_PASSWORD=… CALL_ID=<a call's id> node e2e/save-test.e2e.mjs
// Settings: CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR (default e2e-output/),
// TEST_NAME (default saved_from_admin). Prints "ok - …" / "not ok - …", then
// "save-test e2e: N passed, N failed"; exits 1 when any failed.
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';

const base = (process.env.ADMIN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const password = process.env.ADMIN_PASSWORD;
const callId = process.env.CALL_ID;
const testName = process.env.TEST_NAME ?? 'saved_from_admin';
const shots = resolve(process.env.SCREENSHOT_DIR ?? 'e2e-output');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
if (!password || !callId) {
  console.error('ADMIN_PASSWORD and CALL_ID must be set');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

const browser = await launchChromium(executablePath);
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base });
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  // The 409 of the second save is an expected failed request.
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
});
const name = 'save a phone call as a test from its call page';
let error = null;
try {
  await page.goto('/admin/');
  await page.getByLabel(/Admin password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await page.locator('#business-picker').selectOption('himalayan_kitchen');
  // The call is in today's list; its page shows the transcript.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: /^(Calls|कॉल)$/ }).click();
  await page.locator(`[data-call="${callId}"]`).click();
  await page.locator('[data-role="caller"]').first().waitFor();

  await page.locator('#save-test-name').fill(testName);
  await page.locator('[data-save-test]').click();
  const saved = page.locator('[data-saved-test]');
  await saved.waitFor();
  const path = await saved.getAttribute('data-saved-test');
  expect(path?.endsWith(`tests/conversations/${testName}.yaml`), `written to ${path}`);
  const file = await saved.locator('pre').innerText();
  expect(/caller:/.test(file) && /say:/.test(file), `file shown: ${file.slice(0, 300)}`);
  expect(!/98765|43210/.test(file), 'the caller\'s number is in the file');
  await page.screenshot({ path: `${shots}/save-as-test.png`, fullPage: true });
  console.log(`SAVED ${path}`);

  // The same name again is refused at the field; "replace" overwrites it.
  await page.locator('[data-save-test]').click();
  const nameError = page.locator('[data-field-error="save-test-name"]');
  await nameError.waitFor();
  expect(/already exists/.test(await nameError.innerText()), `error: ${await nameError.innerText()}`);
  await page.screenshot({ path: `${shots}/save-as-test-name-taken.png`, fullPage: true });
  await page.locator('#save-test-force').check();
  await page.locator('[data-save-test]').click();
  await saved.waitFor();
  if (problems.length) throw new Error(problems.join('; '));
  console.log(`ok - ${name}`);
} catch (e) {
  error = e;
  console.log(`not ok - ${name}: ${String(e?.message ?? e).split('\n')[0]}`);
  await page.screenshot({ path: `${shots}/save-as-test-failed.png`, fullPage: true }).catch(() => {});
}
await browser.close();
if (error) console.error(error?.stack ?? error);
console.log(`save-test e2e: ${error ? 0 : 1} passed, ${error ? 1 : 0} failed (screenshots in ${shots})`);
process.exit(error ? 1 : 0);
