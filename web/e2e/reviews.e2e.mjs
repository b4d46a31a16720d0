// The review loop and the callbacks in a real browser: Debian's Chromium, headless, driven by
// playwright-core, against a real `vartalaap serve` with the built admin.
//
// Run by tests/e2e/admin_web.rs, which first leaves a large-party callback request (text
// conversation API) and places a phone call that goes badly (the call simulator: a dish not
// on the menu, the party size corrected twice, a hang-up), waits for its review, and passes:
//   CALLBACK_ID     the callback request to work through
//   CALL_ID         the call that went badly
//   SUGGESTION_ID   its knowledge-gap suggestion (pizza is not on the menu, /menu)
// Other settings: see e2e/harness.mjs. Prints "ok - …" / "not ok - …" per scenario, then
// "reviews e2e: N passed, N failed"; exits 1 when any failed.
import { launchChromium } from './chromium.mjs';
import { business, executablePath, expect, login, openPage, scenarios, shots } from './harness.mjs';

const callbackId = process.env.CALLBACK_ID;
const callId = process.env.CALL_ID;
const suggestionId = process.env.SUGGESTION_ID;
if (!callbackId || !callId || !suggestionId) {
  console.error('CALLBACK_ID, CALL_ID and SUGGESTION_ID must be set (tests/e2e/admin_web.rs sets them)');
  process.exit(2);
}

const { scenario: run, finish } = scenarios(await launchChromium(executablePath));
const note = 'Called back, offered the 13:00 sitting';

await run('work a large-party callback: status and note, kept after a reload', { width: 1280, height: 800 }, async (page) => {
  await login(page);
  await openPage(page, 'Reservations', 'बुकिंग');
  const row = page.locator(`[data-callback="${callbackId}"]`);
  await row.waitFor();
  expect((await row.getAttribute('data-status')) === 'pending', `the request is ${await row.getAttribute('data-status')}`);
  expect(/Khanna/.test(await row.innerText()) && /12/.test(await row.innerText()), `row: ${await row.innerText()}`);
  await row.locator(`#callback-status-${callbackId}`).selectOption('contacted');
  await row.locator(`#callback-note-${callbackId}`).fill(note);
  await row.getByRole('button', { name: /^(Save|सेव करें)$/ }).click();
  await page.locator(`[data-callback="${callbackId}"][data-status="contacted"]`).waitFor();
  await page.reload();
  const saved = page.locator(`[data-callback="${callbackId}"][data-status="contacted"]`);
  await saved.waitFor({ timeout: 10_000 });
  const kept = await saved.locator(`#callback-note-${callbackId}`).inputValue();
  expect(kept === note, `the note after a reload: ${kept}`);
  const status = await saved.locator(`#callback-status-${callbackId}`).inputValue();
  expect(status === 'contacted', `the status after a reload: ${status}`);
});

await run('the dashboard on a 390x844 phone screen: calls, turn latency p50/p95 and the top open suggestions', { width: 390, height: 844 }, async (page) => {
  await login(page);
  for (const id of ['latency-p50', 'latency-p95']) {
    await page.waitForFunction((t) => /\d+(\.\d)? (ms|s)$/.test(document.querySelector(`[data-testid="${t}"]`)?.textContent ?? ''), id, { timeout: 10_000 });
  }
  await page.waitForFunction(() => Number(document.querySelector('[data-testid="calls-today"]')?.textContent) >= 1, null, { timeout: 10_000 });
  const top = page.locator(`[data-testid="top-suggestions"] [data-suggestion="${suggestionId}"]`);
  await top.waitFor();
  expect(/pizza/i.test(await top.innerText()), `top suggestion: ${await top.innerText()}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  await page.screenshot({ path: `${shots}/dashboard-390x844-latency-suggestions.png`, fullPage: true });
});

await run('a call that went badly: transcript, summary, review and suggestion; the suggestion marked implemented', { width: 1280, height: 900 }, async (page) => {
  await login(page);
  await openPage(page, 'Reviews', 'समीक्षा');
  await page.locator('#reviews-category').selectOption('knowledge_gap');
  const item = page.locator(`[data-suggestion="${suggestionId}"]`);
  await item.waitFor();
  expect(/pizza/i.test(await item.innerText()), `suggestion: ${await item.innerText()}`);
  const editor = await item.locator('[data-open-config]').getAttribute('href');
  const wanted = `/admin/config?business=${business}&file=businesses%2F${business}.yaml&yaml_path=menu`;
  expect(editor === wanted, `"open in config editor" leads to ${editor}, not ${wanted}`);

  // Open the call: its transcript, summary, review and the same suggestion.
  await item.locator(`[data-open-call="${callId}"]`).click();
  await page.locator('[data-turn][data-role="caller"]').filter({ hasText: 'how much is the pizza' }).waitFor();
  const botTurns = await page.locator('[data-turn][data-role="bot"]').count();
  expect(botTurns >= 3, `${botTurns} bot turns`);
  const summary = await page.getByTestId('call-summary').innerText();
  expect(/hung up/i.test(summary), `summary: ${summary}`);
  const review = page.getByTestId('call-review');
  await review.waitFor();
  const score = Number(await review.getAttribute('data-score'));
  expect(score >= 1 && score <= 3, `score ${score}`);
  await review.locator('[data-issue="menu_item_missing"]').waitFor();
  await review.locator(`[data-suggestion="${suggestionId}"]`).waitFor();
  await page.screenshot({ path: `${shots}/call-${callId}-review.png`, fullPage: true });

  // Back on the Reviews page (the filters kept), mark it implemented: it leaves the pending list.
  await page.goBack();
  const again = page.locator(`[data-suggestion="${suggestionId}"]`);
  await again.waitFor();
  expect((await page.locator('#reviews-category').inputValue()) === 'knowledge_gap', 'the category filter was lost');
  await again.getByRole('button', { name: /^(Mark implemented|लागू हो गया)$/ }).click();
  await again.waitFor({ state: 'detached' });
  await page.locator('#reviews-status').selectOption('implemented');
  const implemented = page.locator(`[data-suggestion="${suggestionId}"][data-status="implemented"]`);
  await implemented.waitFor();

  // "Open in config editor" opens the business file at the menu, highlighted.
  await implemented.locator('[data-open-config]').click();
  const target = page.locator('.cm-target-line');
  await target.waitFor({ timeout: 20_000 });
  expect(/^\s*menu:/.test(await target.innerText()), `the editor highlights: ${await target.innerText()}`);
});

await finish('reviews e2e');
