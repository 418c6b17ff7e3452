import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createApp } from '../../src/accounts/apps.js';
import { createUser } from '../../src/accounts/users.js';
import { assertVisibleFocus, checkPage, launchBrowser, startCallbackServer, tabTo, type TestBrowser } from '../helpers/browser.js';
import { authorizeUrl, getSettings } from '../helpers/flows.js';
import { startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin, pollPin, type PinInit } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };
/** A long User-Agent, as TV apps send: the page must wrap it at phone width. */
const TV_AGENT = 'Mozilla/5.0 (Linux; Android 14; SHIELD Android TV Build/UQ1A.240105.004) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 TVTracker/4.2.0';

/**
 * Connected Apps (reference §8) in a browser: the apps a person allowed, with how much
 * each used the account, and a revoke button that ends the token at once (next call 401).
 */
describe('Connected Apps in Chromium', () => {
  let kf: TestKeyfob;
  let browser: TestBrowser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let plex: { clientId: string; secret: string };
  let tvClientId: string;
  let plexToken: string;
  let tvToken: string;

  const cardOf = (page: Page, appName: string) => page.locator('li.card', { has: page.getByRole('heading', { name: appName, exact: true }) });

  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    callback = await startCallbackServer();
    const owner = await createUser(kf.storage, kf.clock, { username: 'appmaker', password: 'appmaker-password' });
    const conf = await createApp(kf.storage, kf.clock, { ownerId: owner.id, name: 'Plex Scrobbler', redirectUris: [callback.url], isPublic: false });
    plex = { clientId: conf.app.clientId, secret: conf.clientSecret! };
    tvClientId = (await createApp(kf.storage, kf.clock, { ownerId: owner.id, name: 'TV Tracker', redirectUris: [], isPublic: true })).app.clientId;
    await createUser(kf.storage, kf.clock, { username: 'viewer', password: 'viewer-password' });
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await kf?.close();
  });

  it('starts empty, then lists the apps the person allowed with their request counts (phone width)', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${kf.webUrl}/settings/connected-apps/`);
    assert.equal(new URL(page.url()).pathname, '/signin');
    await page.getByLabel('Username').fill('viewer');
    await page.getByLabel('Password').fill('viewer-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${kf.webUrl}/settings/connected-apps/`);
    assert.match((await page.textContent('main')) ?? '', /No apps are connected to your account\./);
    assert.equal(await page.getByRole('link', { name: 'Connected Apps' }).getAttribute('aria-current'), 'page');
    await checkPage(page, 'connected-apps-empty-phone');

    // Plex Scrobbler: authorization code flow through this browser, the token fetched as a server would.
    await page.goto(authorizeUrl(kf, { response_type: 'code', client_id: plex.clientId, redirect_uri: callback.url, 'app-name': 'plex-scrobbler', 'app-version': '1.2' }));
    await page.getByRole('button', { name: 'Yes, allow' }).click();
    await page.waitForURL((u) => u.href.startsWith(callback.url));
    const code = new URL(page.url()).searchParams.get('code')!;
    const res = await fetch(`${kf.apiUrl}/oauth/token?app-name=plex-scrobbler&app-version=1.2`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'PlexScrobbler/1.2' },
      body: JSON.stringify({ grant_type: 'authorization_code', code, client_id: plex.clientId, client_secret: plex.secret, redirect_uri: callback.url }),
    });
    assert.equal(res.status, 200);
    plexToken = ((await res.json()) as { access_token: string }).access_token;
    for (let i = 0; i < 3; i += 1) assert.equal((await getSettings(kf, plexToken, plex.clientId)).status, 200);

    // TV Tracker: a PIN typed in (by the same person, in another browser).
    const started = await fetch(`${kf.apiUrl}/oauth/pin?client_id=${tvClientId}&app-name=tv-tracker&app-version=4.2.0`, { headers: { 'user-agent': TV_AGENT } });
    assert.equal(started.status, 200);
    const pin = (await started.json()) as PinInit;
    const other = new WebAgent(kf.webUrl);
    await other.signIn('viewer', 'viewer-password');
    assert.equal((await answerPin(other, pin.user_code, 'approve')).status, 200);
    tvToken = String((await pollPin(kf, tvClientId, pin.user_code)).body.access_token);
    assert.match(tvToken, /^[0-9a-f]{64}$/);

    await page.goto(`${kf.webUrl}/settings/connected-apps/`);
    const plexCard = cardOf(page, 'Plex Scrobbler');
    assert.equal((await plexCard.locator('.request-count').textContent())?.trim(), '3');
    const plexText = (await plexCard.textContent()) ?? '';
    assert.match(plexText, /AUTH V1/);
    assert.match(plexText, /Can read and update your media library\./);
    assert.match(plexText, /Registered by\s*appmaker/);
    assert.match(plexText, /PlexScrobbler\/1\.2/);
    const tvCard = cardOf(page, 'TV Tracker');
    assert.equal((await tvCard.locator('.request-count').textContent())?.trim(), '0');
    assert.match((await tvCard.textContent()) ?? '', /Last used\s*never/);
    assert.ok(((await tvCard.textContent()) ?? '').includes(TV_AGENT));
    await checkPage(page, 'connected-apps-two-phone');
    await page.close();
  });

  it('revokes by keyboard at desktop width: the notice says so and the token gets 401 at once', async () => {
    const page = await browser.newPage(DESKTOP);
    await page.goto(`${kf.webUrl}/settings/connected-apps/`);
    await checkPage(page, 'connected-apps-two-desktop');
    await tabTo(page, /^button Revoke access for Plex Scrobbler$/);
    await assertVisibleFocus(page);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.searchParams.has('revoked'));
    assert.equal(await page.getByRole('status').textContent(), 'Plex Scrobbler can no longer use your account.');
    assert.equal(await cardOf(page, 'Plex Scrobbler').count(), 0);
    assert.equal(await cardOf(page, 'TV Tracker').count(), 1);
    await checkPage(page, 'connected-apps-revoked-desktop');

    const revoked = await getSettings(kf, plexToken, plex.clientId);
    assert.equal(revoked.status, 401);
    assert.deepEqual(await revoked.json(), { error: 'user_token_failed', code: 401 });
    assert.equal((await getSettings(kf, tvToken, tvClientId)).status, 200, 'the other app keeps working');
    await page.close();
  });

  it('revoking the last app leaves the empty list (phone width)', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${kf.webUrl}/settings/connected-apps/`);
    await page.getByRole('button', { name: 'Revoke access for TV Tracker' }).click();
    await page.waitForURL((u) => u.searchParams.has('revoked'));
    assert.equal(await page.getByRole('status').textContent(), 'TV Tracker can no longer use your account.');
    assert.match((await page.textContent('main')) ?? '', /No apps are connected to your account\./);
    await checkPage(page, 'connected-apps-all-revoked-phone');
    assert.equal((await getSettings(kf, tvToken, tvClientId)).status, 401);
    await page.close();
  });

  it('no page broke its Content-Security-Policy or threw', () => {
    assert.deepEqual(browser.problems, []);
  });
});
