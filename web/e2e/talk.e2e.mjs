// "Talk to it" in a real browser: Debian's Chromium, headless, with a fake microphone that
// plays an espeak-ng recording of an English question (Chromium's
// --use-file-for-fake-audio-capture), against a real `vartalaap serve` with the built admin and
// the offline recogniser. The owner presses "Call the bot" in Try it; the test waits for the
// recogniser's reading of the question and the bot's spoken reply in the call transcript, hangs
// up, and finds the link to the call log.
//
// Run by tests/e2e/talk.rs (which starts the server), or by hand against any server:
//   ADMIN_URL=http://127.0.0.1:8080 ADMIN_PASSWORD=… node e2e/talk.e2e.mjs
// Settings: CHROMIUM (default /usr/bin/chromium), SCREENSHOT_DIR (default e2e-output/),
// ADMIN_BUSINESS (default himalayan_kitchen), ESPEAK (default espeak-ng).
// Prints "ok - <scenario>" or "not ok - <scenario>: <why>"; exits 1 when it failed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { launchChromium } from './chromium.mjs';

const base = (process.env.ADMIN_URL ?? 'http://127.0.0.1:8080').replace(/\/$/, '');
const password = process.env.ADMIN_PASSWORD;
const shots = resolve(process.env.SCREENSHOT_DIR ?? 'e2e-output');
const executablePath = process.env.CHROMIUM ?? '/usr/bin/chromium';
const business = process.env.ADMIN_BUSINESS ?? 'himalayan_kitchen';
const espeak = process.env.ESPEAK ?? 'espeak-ng';
if (!password) {
  console.error('ADMIN_PASSWORD is not set');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

/**
 * The fake microphone: 1 s of silence, the question, then 6 s of silence (Chromium loops the
 * file; the silence lets the bot's voice-activity detection end the owner's turn and answer).
 */
function questionWav(text) {
  const dir = mkdtempSync(join(tmpdir(), 'talk-e2e-'));
  const spoken = join(dir, 'spoken.wav');
  execFileSync(espeak, ['-v', 'en', '-s', '150', '-w', spoken, text]);
  const wav = readFileSync(spoken);
  // espeak-ng writes a canonical 44-byte header: PCM, mono, 16-bit.
  const rate = wav.readUInt32LE(24);
  const data = wav.subarray(44);
  const silence = (seconds) => Buffer.alloc(Math.round(rate * seconds) * 2);
  const body = Buffer.concat([silence(1), data, silence(6)]);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + body.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(body.length, 40);
  const file = join(dir, 'question.wav');
  writeFileSync(file, Buffer.concat([header, body]));
  return file;
}

const wav = questionWav('What time do you open today?');

// The fake device and UI flags give getUserMedia the file above without a prompt.
const browser = await launchChromium(executablePath, [
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  `--use-file-for-fake-audio-capture=${wav}`,
  '--autoplay-policy=no-user-gesture-required',
]);

function expect(condition, message) {
  if (!condition) throw new Error(message);
}

let failed = false;
const name = 'talk to the bot through the microphone (fake audio capture) and see the reply transcript';
const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: base, permissions: ['microphone'] });
const page = await context.newPage();
const problems = [];
page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) problems.push(`console: ${m.text()}`);
});
try {
  await page.goto('/admin/');
  await page.getByLabel(/Admin password/).fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  await page.locator('#business-picker').selectOption(business);
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: /^(Try it|आज़माएँ)$/ }).click();
  await page.getByRole('button', { name: /Call the bot|बॉट को कॉल करें/ }).click();
  await page.getByTestId('voice-status').filter({ hasText: /On the call|कॉल पर/ }).waitFor({ timeout: 30_000 });
  const transcript = page.getByTestId('voice-transcript');
  // The greeting, then what the recogniser heard, then the bot's answer to it.
  const caller = transcript.locator('li[data-who="caller"]').first();
  await caller.waitFor({ timeout: 150_000 });
  const heard = (await caller.innerText()).toLowerCase();
  expect(/open|time/.test(heard), `the recogniser heard ${JSON.stringify(heard)}`);
  await transcript.locator('li[data-who="caller"] ~ li[data-who="bot"]').first().waitFor({ timeout: 120_000 });
  const reply = await transcript.locator('li[data-who="caller"] ~ li[data-who="bot"]').first().innerText();
  expect(reply.trim().length > 0, 'the bot reply is empty');
  await page.screenshot({ path: `${shots}/talk-to-it-live.png`, fullPage: true });
  await page.getByRole('button', { name: /Hang up|कॉल काटें/ }).click();
  await page.getByTestId('voice-status').filter({ hasText: /Call ended|कॉल खत्म/ }).waitFor({ timeout: 30_000 });
  await page.getByTestId('voice-call-link').waitFor({ timeout: 10_000 });
  if (problems.length) throw new Error(problems.join('; '));
  console.log(`ok - ${name} (heard ${JSON.stringify(heard)}; replied ${JSON.stringify(reply)})`);
} catch (error) {
  failed = true;
  console.log(`not ok - ${name}: ${String(error?.message ?? error).split('\n')[0]}`);
} finally {
  await page.screenshot({ path: `${shots}/talk-to-it.png`, fullPage: true }).catch(() => {});
  await context.close();
  await browser.close();
}
console.log(`talk e2e: ${failed ? 0 : 1} passed, ${failed ? 1 : 0} failed`);
process.exit(failed ? 1 : 0);
