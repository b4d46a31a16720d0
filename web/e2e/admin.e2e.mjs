// End-to-end tests of the admin web app in a real browser: Debian's Chromium, headless, driven
// by playwright-core, against a real `vartalaap serve` with the built admin.
//
// Run by tests/e2e/admin_web.rs (which starts the server), or by hand against any server:
//   ADMIN_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=… node e2e/admin.e2e.mjs
// Settings: CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR (default e2e-output/).
// Prints "ok - <scenario>" or "not ok - <scenario>: <why>" per scenario, then
// "admin e2e: N passed, N failed"; exits 1 when any failed.
import { launchChromium } from './chromium.mjs';
import { executablePath, expect, login, password, scenarios, shots } from './harness.mjs';

const browser = await launchChromium(executablePath);
const { scenario, finish } = scenarios(browser);

/** A day the business is open (Tuesday–Sunday), `daysAhead` or more days from today. */
function openDay(daysAhead, wantMonday = false) {
  const d = new Date();
  d.setDate(d.getDate() + daysAhead);
  while ((d.getDay() === 1) !== wantMonday) d.setDate(d.getDate() + 1);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

await scenario('log in: / leads to the admin, a wrong password is refused, the right one logs in', { width: 1280, height: 800 }, async (page) => {
  const response = await page.goto('/');
  expect(new URL(page.url()).pathname === '/admin/', `/ led to ${page.url()}`);
  expect(response?.ok(), `status ${response?.status()}`);
  await page.getByLabel(/Admin password/).fill('not the password');
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('alert').filter({ hasText: 'wrong password' }).waitFor();
  expect((await page.getByRole('navigation', { name: 'Pages' }).count()) === 0, 'a wrong password showed the admin');
  await page.getByLabel(/Admin password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await page.reload();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: 10_000 });
  await page.getByRole('button', { name: /Log out|लॉग आउट/ }).click();
  await page.getByLabel(/Admin password/).waitFor();
});

const bookingDay = openDay(3);
const hostileName = `<img src=x onerror="window.__xss=1">Asha ${Date.now() % 10000}`;

await scenario('create a booking in the admin (field errors first) and see it on the dashboard chart', { width: 1280, height: 900 }, async (page) => {
  await login(page);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: /^(Reservations|बुकिंग)$/ }).click();
  await page.getByRole('button', { name: /New reservation|नई बुकिंग/ }).click();
  const dialog = page.getByRole('dialog');
  await dialog.locator('#res-name').fill(hostileName);
  await dialog.locator('#res-phone').fill('98765 43210');
  await dialog.locator('#res-party').fill('6');
  // Closed on Mondays: the refusal is shown next to the date.
  await dialog.locator('#res-date').fill(openDay(3, true));
  await dialog.locator('#res-time').fill('19:30');
  await dialog.getByRole('button', { name: /^(Book|बुक करें)$/ }).click();
  const dateError = dialog.locator('[data-field-error="res-date"]');
  await dateError.waitFor();
  expect(/closed/i.test(await dateError.innerText()), `date error: ${await dateError.innerText()}`);
  await dialog.locator('#res-date').fill(bookingDay);
  await dialog.getByRole('button', { name: /^(Book|बुक करें)$/ }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.locator('#res-to').fill(bookingDay);
  const row = page.locator('[data-reservation]').filter({ hasText: hostileName });
  await row.waitFor();
  expect(await page.evaluate(() => window.__xss === undefined), 'a caller-supplied name ran as HTML');

  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: /^(Dashboard|डैशबोर्ड)$/ }).click();
  await page.locator('#dashboard-day').fill(bookingDay);
  // A 90-minute hold: the 19:30, 20:00 and 20:30 slots carry the six covers.
  for (const slot of ['19:30', '20:00', '20:30']) {
    const bar = page.locator(`[data-slot="${slot}"]`);
    await page.waitForFunction((s) => Number(document.querySelector(`[data-slot="${s}"]`)?.getAttribute('data-covers')) >= 6, slot, { timeout: 10_000 });
    expect(Number(await bar.getAttribute('data-covers')) >= 6, `${slot} has ${await bar.getAttribute('data-covers')} covers`);
  }
  await page.locator('[data-reservation]').filter({ hasText: hostileName }).first().waitFor();
  expect(await page.evaluate(() => window.__xss === undefined), 'a caller-supplied name ran as HTML on the dashboard');
});

await scenario('the dashboard on a 390x844 phone screen, in Hindi for a Hindi-first business', { width: 390, height: 844 }, async (page) => {
  await login(page);
  await page.locator('[data-testid="covers-chart"]').waitFor();
  await page.locator('[data-testid="calls-today"]').waitFor();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `the page is ${overflow}px wider than the screen`);
  const nav = await page.getByRole('navigation', { name: 'Pages' }).boundingBox();
  expect(nav && nav.width <= 390, 'the navigation does not fit');
  // Himalayan Kitchen greets in Hindi, so the labels are Hindi; the toggle switches them.
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'डैशबोर्ड' }).waitFor();
  await page.getByTestId('capacity-line').filter({ hasText: 'क्षमता 40' }).waitFor();
  await page.screenshot({ path: `${shots}/dashboard-390x844-hindi.png` });
  await page.getByRole('button', { name: 'Switch label language' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: 'Dashboard' }).waitFor();
});

await scenario('try it: the bot quotes a menu price', { width: 1280, height: 800 }, async (page) => {
  await login(page);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: /^(Try it|आज़माएँ)$/ }).click();
  await page.getByRole('button', { name: /Start a conversation|बातचीत शुरू करें/ }).click();
  await page.locator('[data-who="bot"]').first().waitFor();
  await page.locator('#try-text').fill('how much are the chicken momos');
  await page.getByRole('button', { name: /^(Send|भेजें)$/ }).click();
  const reply = page.locator('[data-who="bot"]').nth(1);
  await reply.waitFor();
  const text = await reply.innerText();
  expect(/chicken steamed momos/i.test(text) && /rupees|₹|220/i.test(text), `reply: ${text}`);
});

await finish('admin e2e');
