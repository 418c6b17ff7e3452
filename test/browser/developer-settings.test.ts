import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createUser } from '../../src/accounts/users.js';
import { assertVisibleFocus, checkPage, focusOutline, launchBrowser, startCallbackServer, tabTo, type TestBrowser } from '../helpers/browser.js';
import { authorizeUrl, postToken } from '../helpers/flows.js';
import { startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * Developer settings (reference §1, §3.1) in a browser: register a confidential and a
 * public app, see the client secret exactly once, rotate it, edit redirect URIs with the
 * error shown at the field, delete. Each app made here is then used for a real sign-in,
 * so the page is proven to produce working credentials.
 */
describe('developer settings in Chromium', () => {
  let kf: TestKeyfob;
  let browser: TestBrowser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let page: Page;
  let appPath: string;
  let clientId: string;
  let secret: string;

  /** Consent in the browser, then the code exchanged as the app's server would; returns the token response. */
  async function signInWith(p: Page, id: string, clientSecret: string, redirectUri: string): Promise<Response> {
    await p.goto(authorizeUrl(kf, { response_type: 'code', client_id: id, redirect_uri: redirectUri, state: 's' }));
    await p.getByRole('button', { name: 'Yes, allow' }).click();
    await p.waitForURL((u) => u.href.startsWith(redirectUri));
    const code = new URL(p.url()).searchParams.get('code');
    assert.ok(code);
    return postToken(kf, { grant_type: 'authorization_code', code, client_id: id, client_secret: clientSecret, redirect_uri: redirectUri });
  }

  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    callback = await startCallbackServer();
    await createUser(kf.storage, kf.clock, { username: 'appmaker', password: 'appmaker-password' });
    browser = await launchBrowser();
    page = await browser.newPage(DESKTOP);
    await page.goto(`${kf.webUrl}/settings/developer/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await page.getByLabel('Username').fill('appmaker');
    await page.getByLabel('Password').fill('appmaker-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${kf.webUrl}/settings/developer/`);
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await kf?.close();
  });

  it('registers a confidential app by keyboard at desktop width; an invalid redirect URI is explained at its field', async () => {
    assert.match((await page.textContent('main')) ?? '', /You have not registered any apps yet\./);
    await checkPage(page, 'developer-empty-desktop');
    await tabTo(page, /^a Register a new app$/);
    await assertVisibleFocus(page);
    await page.keyboard.press('Enter');
    await page.waitForURL(`${kf.webUrl}/settings/developer/new/`);
    await checkPage(page, 'developer-new-desktop');

    await tabTo(page, /^input#name$/);
    await assertVisibleFocus(page);
    await page.keyboard.type('Plex Scrobbler');
    await page.keyboard.press('Tab');
    assert.match((await focusOutline(page)).element, /^textarea#redirect_uris/);
    await assertVisibleFocus(page);
    // One URI per line: Enter in the text area starts the next line.
    await page.keyboard.type(callback.url);
    await page.keyboard.press('Enter');
    await page.keyboard.type('https://example.com/a callback');
    await page.keyboard.press('Tab');
    assert.match((await focusOutline(page)).element, /^input#type-confidential/, 'the checked type is next');
    await assertVisibleFocus(page);
    await tabTo(page, /^button Register app$/);
    await assertVisibleFocus(page);
    await page.keyboard.press('Enter');

    await page.waitForSelector('#redirect_uris-error');
    const uris = page.getByLabel('Redirect URIs');
    assert.equal(await uris.getAttribute('aria-invalid'), 'true');
    assert.deepEqual((await uris.getAttribute('aria-describedby'))?.split(' '), ['redirect_uris-hint', 'redirect_uris-error']);
    assert.match((await page.textContent('#redirect_uris-error')) ?? '', /must not contain spaces/);
    assert.equal(await page.locator('#redirect_uris + #redirect_uris-error').count(), 1, 'the error comes right after the field it concerns');
    assert.equal(await page.getByLabel('App name').getAttribute('aria-invalid'), null, 'a good field is not marked');
    assert.equal(await page.getByRole('alert').textContent(), 'Some fields need a change. The messages are next to each field.');
    assert.equal(await uris.inputValue(), `${callback.url}\nhttps://example.com/a callback`, 'what was typed is kept');
    assert.equal(await page.getByLabel('App name').inputValue(), 'Plex Scrobbler');
    assert.deepEqual(await kf.storage.listAppsByOwner((await kf.storage.findUserByUsername('appmaker'))!.id), [], 'nothing was created');
    await checkPage(page, 'developer-new-error-desktop');

    // Correct it by keyboard: focus the field, replace its text, submit with Enter on the button.
    await uris.focus();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(callback.url);
    await tabTo(page, /^button Register app$/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('#client-secret');
    assert.equal(await page.textContent('h1'), 'Plex Scrobbler is registered');
    clientId = ((await page.textContent('#client-id')) ?? '').trim();
    secret = ((await page.textContent('#client-secret')) ?? '').trim();
    assert.match(clientId, HEX64);
    assert.match(secret, HEX64);
    assert.match((await page.getByRole('note').textContent()) ?? '', /shown only this once/);
    await checkPage(page, 'developer-secret-desktop');

    const stored = await kf.storage.findAppByClientId(clientId);
    assert.ok(stored);
    assert.equal(stored.secretHash, createHash('sha256').update(secret).digest('hex'), 'only a hash is kept');
    assert.deepEqual(stored.redirectUris, [callback.url]);

    await page.getByRole('link', { name: "Go to the app's settings" }).click();
    await page.waitForURL((u) => /^\/settings\/developer\/[0-9]+\/$/.test(u.pathname));
    appPath = new URL(page.url()).pathname;
    assert.equal(((await page.textContent('#client-id')) ?? '').trim(), clientId);
    assert.ok(!(await page.content()).includes(secret), 'the app page never shows the secret');
    await checkPage(page, 'developer-app-desktop');
    await page.goto(`${kf.webUrl}/settings/developer/`);
    assert.ok((await page.content()).includes(clientId));
    assert.ok(!(await page.content()).includes(secret), 'the list never shows the secret');
    await checkPage(page, 'developer-list-desktop');

    const token = await signInWith(page, clientId, secret, callback.url);
    assert.equal(token.status, 200, 'the secret shown works at the token endpoint');
  });

  it('copies the client ID with its button', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kf.webUrl });
    await page.goto(`${kf.webUrl}${appPath}`);
    await page.getByRole('button', { name: 'Copy client ID' }).click();
    await page.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }).document.getElementById('client-id-status')?.textContent ?? '') !== '');
    assert.equal(await page.textContent('#client-id-status'), 'Copied.');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()), clientId);
    await checkPage(page, 'developer-copied-desktop');
  });

  it('rotates the secret at phone width: a new one is shown once, the old one stops working', async () => {
    const phone = await browser.newPage(PHONE);
    await phone.goto(`${kf.webUrl}${appPath}`);
    await checkPage(phone, 'developer-app-phone');
    await phone.getByRole('button', { name: 'Rotate client secret' }).click();
    await phone.waitForSelector('#client-secret');
    assert.equal(await phone.textContent('h1'), 'New client secret for Plex Scrobbler');
    const rotated = ((await phone.textContent('#client-secret')) ?? '').trim();
    assert.match(rotated, HEX64);
    assert.notEqual(rotated, secret);
    assert.match((await phone.getByRole('note').textContent()) ?? '', /The old secret no longer works/);
    await phone.getByRole('button', { name: 'Copy client secret' }).click();
    await phone.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }).document.getElementById('client-secret-status')?.textContent ?? '') !== '');
    assert.equal(await phone.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()), rotated);
    await checkPage(phone, 'developer-rotated-phone');

    const withOld = await signInWith(phone, clientId, secret, callback.url);
    assert.equal(withOld.status, 401);
    assert.deepEqual(await withOld.json(), { error: 'secret_error', code: 401, message: 'Wrong Secret' });
    assert.equal((await signInWith(phone, clientId, rotated, callback.url)).status, 200);
    await phone.goto(`${kf.webUrl}${appPath}`);
    assert.ok(!(await phone.content()).includes(rotated), 'the new secret is not shown again either');
    secret = rotated;
    await phone.close();
  });

  it('edits redirect URIs by keyboard at phone width: errors at the field, then saved, and only the new URI works', async () => {
    const phone = await browser.newPage(PHONE);
    await phone.goto(`${kf.webUrl}${appPath}`);
    const newUri = callback.url.replace(/\/callback$/, '/connected');
    await tabTo(phone, /^textarea#redirect_uris/);
    await assertVisibleFocus(phone);
    await phone.keyboard.press('ControlOrMeta+A');
    await phone.keyboard.type('example.com/callback');
    await tabTo(phone, /^button Save changes$/);
    await assertVisibleFocus(phone);
    await phone.keyboard.press('Enter');
    await phone.waitForSelector('#redirect_uris-error');
    assert.equal(await phone.getByLabel('Redirect URIs').getAttribute('aria-invalid'), 'true');
    assert.equal(await phone.locator('#redirect_uris + #redirect_uris-error').count(), 1, 'the error comes right after the field');
    assert.deepEqual((await kf.storage.findAppByClientId(clientId))?.redirectUris, [callback.url], 'nothing changed');
    await checkPage(phone, 'developer-edit-error-phone');

    await phone.getByLabel('Redirect URIs').focus();
    await phone.keyboard.press('ControlOrMeta+A');
    await phone.keyboard.type(newUri);
    await tabTo(phone, /^button Save changes$/);
    await phone.keyboard.press('Enter');
    await phone.waitForURL((u) => u.searchParams.get('saved') === '1');
    assert.equal(await phone.getByRole('status').first().textContent(), 'Your changes are saved.');
    assert.equal(await phone.getByLabel('Redirect URIs').inputValue(), newUri);
    await checkPage(phone, 'developer-saved-phone');

    await phone.goto(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: callback.url }));
    assert.match((await phone.textContent('main')) ?? '', /must match a URL registered/, 'the removed URI is refused');
    assert.equal((await signInWith(phone, clientId, secret, newUri)).status, 200, 'the added URI works');
    await phone.close();
  });

  it('registers a public app at phone width: no secret, no rotate button', async () => {
    const phone = await browser.newPage(PHONE);
    await phone.goto(`${kf.webUrl}/settings/developer/new/`);
    await checkPage(phone, 'developer-new-phone');
    await phone.getByLabel('App name').fill('Terminal Client');
    // The type by keyboard: Tab reaches the checked radio, an arrow key moves the choice.
    await phone.getByLabel('Redirect URIs').focus();
    await phone.keyboard.press('Tab');
    await phone.keyboard.press('ArrowDown');
    assert.equal(await phone.getByLabel('Public').isChecked(), true);
    await phone.getByRole('button', { name: 'Register app' }).click();
    await phone.waitForSelector('#credentials-title');
    assert.equal(await phone.locator('#client-secret').count(), 0);
    assert.match((await phone.textContent('main')) ?? '', /A public app has no client secret/);
    await checkPage(phone, 'developer-public-secret-page-phone');
    await phone.getByRole('link', { name: "Go to the app's settings" }).click();
    await phone.waitForSelector('#client-id');
    assert.match((await phone.textContent('main')) ?? '', /Public \(no client secret, uses PKCE\)/);
    assert.equal(await phone.getByRole('button', { name: 'Rotate client secret' }).count(), 0);
    await checkPage(phone, 'developer-public-app-phone');
    await phone.close();
  });

  it('deletes an app after a confirmation step (desktop width)', async () => {
    await page.goto(`${kf.webUrl}${appPath}`);
    await page.getByRole('link', { name: 'Delete this app…' }).click();
    await page.waitForURL(`${kf.webUrl}${appPath}delete/`);
    assert.match((await page.textContent('h1')) ?? '', /Delete Plex Scrobbler\?/);
    await checkPage(page, 'developer-delete-desktop');
    assert.ok(await kf.storage.findAppByClientId(clientId), 'the confirmation page deletes nothing');
    await page.getByRole('button', { name: 'Delete Plex Scrobbler' }).click();
    await page.waitForURL(`${kf.webUrl}/settings/developer/?deleted=1`);
    assert.equal(await page.getByRole('status').textContent(), 'The app was deleted.');
    assert.equal(await page.getByRole('link', { name: 'Plex Scrobbler' }).count(), 0);
    assert.equal(await page.getByRole('link', { name: 'Terminal Client' }).count(), 1);
    assert.equal(await kf.storage.findAppByClientId(clientId), null);
    await checkPage(page, 'developer-deleted-desktop');
  });

  it('no page broke its Content-Security-Policy or threw', () => {
    assert.deepEqual(browser.problems, []);
  });
});
