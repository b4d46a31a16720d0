// The Business config editor in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against a real `vartalaap serve` with the built admin (run by
// tests/e2e/admin_web.rs, or by hand: ADMIN_URL=… ADMIN_PASSWORD=… node e2e/config.e2e.mjs).
// Scenarios, in order (each builds on the one before):
//  1. a deep link to the YAML path of a dish's price opens the business file at that line,
//     highlighted; the price is changed in the editor and saved; the page shows the new live
//     version, and Try it quotes the new price;
//  2. the price is broken; Check and Save show the error at its line (gutter marker and the
//     list, which jumps to the line); nothing is written and Try it still quotes the price of
//     scenario 1;
//  3. on a 390x844 phone screen, the save of scenario 1 is shown as a diff in the history and
//     reverted with one click; Try it quotes the original price again.
// Prints "ok - …" / "not ok - …" per scenario, then "config e2e: N passed, N failed".
import { launchChromium } from './chromium.mjs';
import { askTryIt, business, executablePath, expect, login, scenarios, shots } from './harness.mjs';

const file = `businesses/${business}.yaml`;
const dish = 'chicken_steamed_momos';
const yamlPath = `menu.categories.momos.items.${dish}.price_inr`;
const deepLink = `/admin/config?business=${business}&file=${encodeURIComponent(file)}&yaml_path=${yamlPath}`;
const question = 'how much are the chicken momos';

const browser = await launchChromium(executablePath);
const { scenario, finish } = scenarios(browser);

/** The file as the server has it now, read over the API with the page's session. */
async function storedFile(page) {
  return page.evaluate(async (path) => {
    const token = sessionStorage.getItem('vartalaap.admin.token');
    const reply = await fetch(`/api/config/files/${path}`, { headers: { Authorization: `Bearer ${token}` } });
    return reply.json();
  }, file);
}

const ones = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const tens = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];

/** A price under 1,000 as the bot speaks it: 245 → "two hundred and forty-five". */
function spoken(n) {
  const underHundred = (m) => (m < 20 ? ones[m] : `${tens[Math.floor(m / 10)]}${m % 10 ? `-${ones[m % 10]}` : ''}`);
  if (n < 100) return underHundred(n);
  const rest = n % 100;
  return `${ones[Math.floor(n / 100)]} hundred${rest ? ` and ${underHundred(rest)}` : ''}`;
}

/** Whether the bot's reply quotes `price` rupees, in figures or in words. */
function quotes(reply, price) {
  const text = reply.toLowerCase();
  return text.includes(String(price)) || new RegExp(`\\b${spoken(Number(price))} rupees`).test(text);
}

/** 1-based line of the dish's `price_inr:` and the price written there. */
function priceLine(content) {
  const lines = content.split('\n');
  const item = lines.findIndex((l) => l.trim() === `- id: ${dish}`);
  const offset = lines.slice(item).findIndex((l) => /^\s+price_inr:/.test(l));
  expect(item >= 0 && offset > 0, `no price for ${dish} in ${file}`);
  const line = item + offset + 1;
  return { line, price: lines[line - 1].split(':')[1].trim() };
}

/** Opens the deep link; returns the highlighted line's locator once the editor shows it. */
async function openDeepLink(page, line) {
  await page.goto(deepLink);
  const target = page.locator(`.cm-target-line[data-target-line="${line}"]`);
  await target.waitFor({ timeout: 10_000 });
  return target;
}

/** Replaces the value at the end of the highlighted `price_inr: …` line by typing. */
async function retypePrice(page, target, oldPrice, newValue) {
  await target.click();
  await page.keyboard.press('End');
  for (let i = 0; i < oldPrice.length; i++) await page.keyboard.press('Backspace');
  await page.keyboard.type(newValue);
}

const saveButton = (page) => page.getByRole('button', { name: /^(Save|सेव करें)$/ });
const checkButton = (page) => page.getByRole('button', { name: /^(Check|जाँचें)$/ });

let original = null;
let edited = null;
let versionAfterEdit = null;

await scenario('deep link to a price, change it in the editor, save: the new live version quotes the new price in Try it', { width: 1280, height: 900 }, async (page) => {
  await login(page);
  const stored = await storedFile(page);
  original = priceLine(stored.content);
  edited = String(Number(original.price) + 25);
  const target = await openDeepLink(page, original.line);
  // The deep link highlights the line of the YAML path and says which line that is.
  expect((await target.innerText()).includes(`price_inr: ${original.price}`), `highlighted: ${await target.innerText()}`);
  expect(await target.isVisible(), 'the highlighted line is not scrolled into view');
  const note = await page.getByTestId('yaml-path-note').innerText();
  expect(note.includes(String(original.line)), `note: ${note}`);
  const versionBefore = await page.getByTestId('live-version').innerText();

  await retypePrice(page, target, original.price, edited);
  await page.getByTestId('editor-status').filter({ hasText: /Unsaved changes|बदलाव सेव नहीं हुए/ }).waitFor();
  await saveButton(page).click();
  const result = page.getByTestId('save-result');
  await result.waitFor({ timeout: 15_000 });
  const newVersion = (await result.locator('code').innerText()).trim();
  expect(newVersion && newVersion !== versionBefore, `live version ${versionBefore} → ${newVersion}`);
  await page.waitForFunction((v) => document.querySelector('[data-testid="live-version"]')?.textContent === v, newVersion, { timeout: 10_000 });
  versionAfterEdit = newVersion;
  expect(priceLine((await storedFile(page)).content).price === edited, 'the file on the server does not have the new price');
  await page.screenshot({ path: `${shots}/config-saved.png` });

  const reply = await askTryIt(page, question);
  expect(quotes(reply, edited), `Try it did not quote ₹${edited}: ${reply}`);
});

await scenario('break the YAML: the error is shown at its line before saving, nothing is written, the old version stays live', { width: 1280, height: 900 }, async (page) => {
  expect(original && edited, 'scenario 1 did not run');
  await login(page);
  const target = await openDeepLink(page, original.line);
  await retypePrice(page, target, edited, 'lots');
  await checkButton(page).click();
  // The list names the line; the gutter has an error marker level with that line's number.
  const listed = page.locator(`[data-problem-line="${original.line}"]`);
  await listed.waitFor({ timeout: 15_000 });
  const marker = page.locator('.cm-gutter-lint .cm-lint-marker-error').first();
  await marker.waitFor();
  const lineNumber = page.locator('.cm-lineNumbers .cm-gutterElement').filter({ hasText: new RegExp(`^${original.line}$`) });
  const [markerBox, numberBox] = [await marker.boundingBox(), await lineNumber.boundingBox()];
  expect(markerBox && numberBox && Math.abs(markerBox.y - numberBox.y) < numberBox.height, `marker at y=${markerBox?.y}, line ${original.line} at y=${numberBox?.y}`);

  // The list jumps to the line: go to the top, click the problem, the line is back in view.
  await page.locator('.cm-content').click();
  await page.keyboard.press('Control+Home');
  await page.waitForFunction(() => document.querySelector('.cm-scroller')?.scrollTop === 0);
  await listed.click();
  await page.locator(`.cm-target-line[data-target-line="${original.line}"]`).waitFor({ state: 'visible' });

  // Save checks first and writes nothing.
  await saveButton(page).click();
  await page.getByRole('alert').filter({ hasText: /Not saved|सेव नहीं हुआ/ }).waitFor();
  await page.screenshot({ path: `${shots}/config-error-at-line.png` });
  expect((await page.getByTestId('save-result').count()) === 0, 'a broken file was reported saved');
  expect(priceLine((await storedFile(page)).content).price === edited, 'the broken text reached the file');
  expect((await page.getByTestId('live-version').innerText()) === versionAfterEdit, 'the live version changed');

  const reply = await askTryIt(page, question);
  expect(quotes(reply, edited), `the old version is not the one answering: ${reply}`);
});

await scenario('revert from the history on a 390x844 phone screen: the diff shows the change, one click puts the old price back', { width: 390, height: 844 }, async (page) => {
  expect(original && edited, 'scenario 1 did not run');
  await login(page);
  await page.goto('/admin/config');
  const entry = page.locator('[data-testid="config-history"] li').first();
  await entry.waitFor({ timeout: 10_000 });
  await entry.getByRole('button', { name: /Show changes|बदलाव देखें/ }).click();
  const diff = entry.getByTestId('config-diff');
  await diff.waitFor();
  const removed = await diff.locator('[data-diff="removed"]').allInnerTexts();
  const added = await diff.locator('[data-diff="added"]').allInnerTexts();
  expect(removed.some((l) => l.includes(`price_inr: ${original.price}`)), `removed: ${removed}`);
  expect(added.some((l) => l.includes(`price_inr: ${edited}`)), `added: ${added}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page is ${overflow}px wider than the phone screen`);
  await page.screenshot({ path: `${shots}/config-history-390x844.png`, fullPage: true });

  await entry.getByRole('button', { name: /^(Revert|पहले जैसा करें) #/ }).click();
  const result = page.getByTestId('save-result');
  await result.waitFor({ timeout: 15_000 });
  const version = (await result.locator('code').innerText()).trim();
  expect(version !== versionAfterEdit, 'the revert did not change the live version');
  await page.locator('[data-testid="config-history"] li').first().filter({ hasText: /revert of #/ }).waitFor();
  expect(priceLine((await storedFile(page)).content).price === original.price, 'the file was not reverted');
  const target = await openDeepLink(page, original.line);
  expect((await target.innerText()).includes(`price_inr: ${original.price}`), `after the revert: ${await target.innerText()}`);

  const reply = await askTryIt(page, question);
  expect(quotes(reply, original.price) && !quotes(reply, edited), `Try it after the revert: ${reply}`);
});

await finish('config e2e');
