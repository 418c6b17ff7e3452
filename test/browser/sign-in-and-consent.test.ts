import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createApp } from '../../src/accounts/apps.js';
import { createUser } from '../../src/accounts/users.js';
import { launchBrowser, screenshot, seriousA11yViolations, startCallbackServer, type TestBrowser } from '../helpers/browser.js';
import { authorizeUrl, postToken } from '../helpers/flows.js';
import { startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';

const PHONE = { width: 360, height: 740 };
const DESKTOP = { width: 1280, height: 800 };

describe('sign-in, sign-up and consent in Chromium', () => {
  let kf: TestKeyfob;
  let browser: TestBrowser;
  let callback: Awaited<ReturnType<typeof startCallbackServer>>;
  let clientId: string;
  let clientSecret: string;
  let cliAppId: string;

  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    callback = await startCallbackServer();
    const owner = await createUser(kf.storage, kf.clock, { username: 'appmaker', password: 'appmaker-password' });
    const conf = await createApp(kf.storage, kf.clock, { ownerId: owner.id, name: 'Plex Scrobbler', redirectUris: [callback.url], isPublic: false });
    clientId = conf.app.clientId;
    clientSecret = conf.clientSecret!;
    const cli = await createApp(kf.storage, kf.clock, { ownerId: owner.id, name: 'Terminal Client', redirectUris: [], isPublic: true });
    cliAppId = cli.app.clientId;
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await callback?.close();
    await kf?.close();
  });

  it('signs up at phone width with labelled fields and errors next to them', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(`${kf.webUrl}/signup`);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await page.getByLabel('Username').fill('viewer');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByLabel('Repeat the password').fill('short');
    await page.getByRole('button', { name: 'Create account' }).click();
    const err = page.locator('#password-error');
    assert.match((await err.textContent()) ?? '', /at least 8 characters/);
    assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'), 'true');
    await screenshot(page, 'signup-error-phone');
    await page.getByLabel('Password', { exact: true }).fill('viewer-password');
    await page.getByLabel('Repeat the password').fill('viewer-password');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(`${kf.webUrl}/`);
    assert.match((await page.textContent('main')) ?? '', /Signed in as viewer/);
    await screenshot(page, 'home-signed-in-phone');
    await page.getByRole('button', { name: /Sign out/ }).click();
    await page.waitForURL(`${kf.webUrl}/`);
    assert.match((await page.textContent('main')) ?? '', /Sign in to connect apps/);
    await page.close();
  });

  it('authorize → sign-in → consent → approve lands on the client callback with code and state', async () => {
    const page = await browser.newPage(DESKTOP);
    const state = 'state-123';
    await page.goto(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: callback.url, state, 'app-name': 'plex-scrobbler', 'app-version': '1.2' }));
    assert.equal(new URL(page.url()).pathname, '/signin');
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'signin-desktop');
    // Keyboard only: type into the focused field, tab to the next, submit with Enter.
    await page.getByLabel('Username').focus();
    await page.keyboard.type('viewer');
    await page.keyboard.press('Tab');
    await page.keyboard.type('viewer-password');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.pathname === '/oauth/authorize');
    assert.match((await page.textContent('h1')) ?? '', /Allow Plex Scrobbler/);
    assert.match((await page.textContent('main')) ?? '', /registered by appmaker/);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'consent-desktop');
    const approve = page.getByRole('button', { name: 'Yes, allow' });
    await approve.focus();
    const outline = await approve.evaluate((el) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { outlineStyle: string } }).getComputedStyle(el).outlineStyle);
    assert.notEqual(outline, 'none', 'focus is visible');
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.href.startsWith(callback.url));
    const landed = new URL(page.url());
    assert.equal(landed.searchParams.get('state'), state);
    const code = landed.searchParams.get('code')!;
    assert.ok(code);
    const tok = await postToken(kf, { grant_type: 'authorization_code', code, client_id: clientId, client_secret: clientSecret, redirect_uri: callback.url });
    assert.equal(tok.status, 200);
    await page.close();
  });

  it('deny lands on / of the web origin', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: callback.url, state: 'd' }));
    await screenshot(page, 'consent-phone');
    const hitsBefore = callback.hits.length;
    await page.getByRole('button', { name: 'No' }).click();
    await page.waitForURL(`${kf.webUrl}/`);
    assert.equal(callback.hits.length, hitsBefore, 'the client callback never fires on deny');
    await page.close();
  });

  it('the PKCE no-redirect page shows the code with a working copy button', async () => {
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: kf.webUrl });
    const page = await browser.newPage(PHONE);
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    await page.goto(authorizeUrl(kf, { response_type: 'code', client_id: cliAppId, code_challenge: challenge, code_challenge_method: 'S256' }));
    await page.getByRole('button', { name: 'Yes, allow' }).click();
    await page.waitForSelector('#auth-code');
    assert.match((await page.textContent('h1')) ?? '', /Terminal Client/);
    const code = ((await page.textContent('#auth-code')) ?? '').trim();
    await page.getByRole('button', { name: 'Copy code' }).click();
    await page.waitForFunction(() => ((globalThis as unknown as { document: { getElementById(id: string): { textContent: string } | null } }).document.getElementById('copy-status')?.textContent ?? '') !== '');
    assert.equal(await page.textContent('#copy-status'), 'Copied.');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { navigator: { clipboard: { readText(): Promise<string> } } }).navigator.clipboard.readText()), code);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'pkce-code-phone');
    const tok = await postToken(kf, { grant_type: 'authorization_code', code, client_id: cliAppId, code_verifier: verifier });
    assert.equal(tok.status, 200);
    await page.close();
  });

  it('the error page for a bad authorize request is readable and accessible', async () => {
    const page = await browser.newPage(PHONE);
    await page.goto(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: 'https://evil.example/cb' }));
    assert.match((await page.textContent('main')) ?? '', /must match a URL registered/);
    assert.deepEqual(await seriousA11yViolations(page), []);
    await screenshot(page, 'authorize-error-phone');
    await page.close();
  });

  it('no page broke its Content-Security-Policy or threw', () => {
    assert.deepEqual(browser.problems, []);
  });
});
