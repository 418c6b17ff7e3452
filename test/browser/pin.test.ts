import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/accounts/apps.js';
import { createUser } from '../../src/accounts/users.js';
import { assertVisibleFocus, checkPage, focusOutline, launchBrowser, startCallbackServer, tabTo, type TestBrowser } from '../helpers/browser.js';
import { getSettings } from '../helpers/flows.js';
import { ManualClock, startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';
import { pollPin, type PinInit } from '../helpers/pin.js';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
const ALPHABET = '23456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * The PIN pages (reference §7) as a person uses them: a device shows a code, the person types
 * it on /pin (or follows the /pin/{code} link a QR code carries), sees which app and device
 * ask, and answers; the device's next poll gets the token, or a fresh code after a "No".
 */
describe('PIN pages in Chromium', () => {
  // The clock moves only between polls, so the device never polls faster than the server allows (§7.2).
  const clock = new ManualClock(Date.now());
  let kf: TestKeyfob;
  let browser: TestBrowser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let clientId: string;
  let viewerId: number;

  /** GET /oauth/pin as a Kodi add-on sends it (reference §13: query parameters and a User-Agent). */
  async function deviceStartsPin(extra: Record<string, string> = {}): Promise<PinInit> {
    const q = new URLSearchParams({ client_id: clientId, 'app-name': 'script.simkl', 'app-version': '3.4.1', ...extra });
    const res = await fetch(`${kf.apiUrl}/oauth/pin?${q.toString()}`, { headers: { 'user-agent': 'Kodi/21.0 (X11; Linux x86_64)' } });
    assert.equal(res.status, 200);
    return (await res.json()) as PinInit;
  }

  before(async () => {
    kf = await startKeyfob({ clock, env: { KEYFOB_RATE_LIMITS: 'false' } });
    callback = await startCallbackServer();
    const owner = await createUser(kf.storage, clock, { username: 'kodidev', password: 'kodidev-password' });
    const app = await createApp(kf.storage, clock, { ownerId: owner.id, name: 'Living Room Kodi', redirectUris: [callback.url], isPublic: true });
    clientId = app.app.clientId;
    viewerId = (await createUser(kf.storage, clock, { username: 'viewer', password: 'viewer-password' })).id;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await kf?.close();
  });

  it('/pin by keyboard at phone width: sign in, a wrong code is explained at the field, the right one is approved, the device gets the token', async () => {
    const pin = await deviceStartsPin();
    assert.equal(pin.verification_url, `${kf.webUrl}/pin`);
    assert.deepEqual((await pollPin(kf, clientId, pin.user_code)).body, { result: 'KO', message: 'Authorization pending' });

    const page = await browser.newPage(PHONE);
    await page.goto(pin.verification_url);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/signin?next=%2Fpin');
    await checkPage(page, 'pin-signin-phone');
    // The username field has focus on arrival: type, Tab, type, Enter.
    assert.match((await focusOutline(page)).element, /^input#username/);
    await page.keyboard.type('viewer');
    await page.keyboard.press('Tab');
    await page.keyboard.type('viewer-password');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${kf.webUrl}/pin`);
    assert.match((await focusOutline(page)).element, /^input#user_code/, 'the code field has focus on arrival');
    await checkPage(page, 'pin-enter-phone');

    // One character off: an unknown code. The message sits under the field and is tied to it.
    const wrong = ALPHABET[(ALPHABET.indexOf(pin.user_code[0]!) + 1) % ALPHABET.length] + pin.user_code.slice(1);
    await page.keyboard.type(wrong);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#user_code-error');
    const field = page.getByLabel('Code');
    assert.equal(await field.getAttribute('aria-invalid'), 'true');
    assert.equal(await field.getAttribute('aria-describedby'), 'user_code-error');
    assert.match((await page.textContent('#user_code-error')) ?? '', /That code does not work/);
    assert.equal(await page.locator('#user_code + #user_code-error').count(), 1, 'the error comes right after the field it concerns');
    assert.equal(await field.inputValue(), wrong, 'what was typed is kept for correcting');
    await checkPage(page, 'pin-wrong-code-phone');

    // Typed the way people type it: lower case, with a dash.
    await field.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(`${pin.user_code.slice(0, 2).toLowerCase()}-${pin.user_code.slice(2).toLowerCase()}`);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#pin-confirm-title');
    assert.match((await page.textContent('h1')) ?? '', /Connect Living Room Kodi to your account\?/);
    const main = (await page.textContent('main')) ?? '';
    assert.match(main, new RegExp(`showing the code ${pin.user_code} asks to use your account as viewer`));
    assert.match(main, /registered by kodidev/);
    assert.match(main, /script\.simkl version 3\.4\.1/);
    assert.match(main, /Kodi\/21\.0 \(X11; Linux x86_64\)/);
    assert.match(main, /Code expires\s*in 15 minutes/);
    await checkPage(page, 'pin-confirm-phone');

    await tabTo(page, /^button Yes, connect$/);
    await assertVisibleFocus(page);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#pin-done-title');
    assert.equal(await page.textContent('h1'), 'You can return to your device');
    await checkPage(page, 'pin-approved-phone');

    clock.advance(5000);
    const ok = await pollPin(kf, clientId, pin.user_code);
    assert.deepEqual(Object.keys(ok.body), ['result', 'access_token']);
    assert.equal(ok.body.result, 'OK');
    const settings = await getSettings(kf, String(ok.body.access_token), clientId);
    assert.equal(settings.status, 200);
    assert.equal(((await settings.json()) as { account: { id: number } }).account.id, viewerId);
    await page.close();
  });

  it('/pin/{code} pre-fills the code at desktop width; "No" kills the code and the device gets a fresh one', async () => {
    const pin = await deviceStartsPin();
    const page = await browser.newPage(DESKTOP);
    // The QR-code link clients build: verification_url + "/" + user_code (§7.2).
    await page.goto(`${pin.verification_url}/${pin.user_code.toLowerCase()}`);
    assert.equal(await page.getByLabel('Code').inputValue(), pin.user_code);
    await checkPage(page, 'pin-prefilled-desktop');
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForSelector('#pin-confirm-title');
    await checkPage(page, 'pin-confirm-desktop');
    await page.getByRole('button', { name: 'No' }).click();
    await page.waitForSelector('#pin-done-title');
    assert.equal(await page.textContent('h1'), 'Not connected');
    assert.match((await page.textContent('main')) ?? '', /Living Room Kodi was not connected/);
    await checkPage(page, 'pin-denied-desktop');

    clock.advance(5000);
    const after = await pollPin(kf, clientId, pin.user_code);
    assert.equal(after.body.device_code, 'DEVICE_CODE', 'a dead code gets the init shape');
    assert.notEqual(after.body.user_code, pin.user_code);
    await page.close();
  });

  it('a PIN created with a registered redirect sends the browser there after approval, as registered', async () => {
    const pin = await deviceStartsPin({ redirect: callback.url });
    const page = await browser.newPage(DESKTOP);
    await page.goto(`${pin.verification_url}/${pin.user_code}`);
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.getByRole('button', { name: 'Yes, connect' }).click();
    await page.waitForURL(callback.url);
    assert.equal(callback.hits.at(-1)?.search, '', 'no parameters are added to the redirect');
    await checkPage(page, 'pin-redirect-landed-desktop');
    clock.advance(5000);
    assert.equal((await pollPin(kf, clientId, pin.user_code)).body.result, 'OK');
    await page.close();
  });

  it('no page broke its Content-Security-Policy or threw', () => {
    assert.deepEqual(browser.problems, []);
  });
});
