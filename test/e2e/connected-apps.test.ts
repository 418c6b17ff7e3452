import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/accounts/users.js';
import { authorizeUrl, getSettings } from '../helpers/flows.js';
import { textById } from '../helpers/html.js';
import { ManualClock, REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { callbackParams, WebAgent } from '../helpers/web-agent.js';

const PASSWORD = 'correct horse battery';
const T0 = Date.UTC(2026, 0, 15, 9, 30);
const HOUR = 3600 * 1000;
const USER_AGENT = 'MediaTracker/2.5.0 <b>(test)</b>';

/** One card of the Connected Apps page, by its revoke form's grant id. */
function card(html: string, grantId: number): string {
  const end = html.indexOf(`action="/settings/connected-apps/${grantId}/revoke/"`);
  assert.ok(end !== -1, `no card for grant ${grantId}`);
  const start = html.lastIndexOf('<li class="card">', end);
  return html.slice(start, html.indexOf('</li>', end));
}

/** The definition (dd text) that follows a dt label in a card. */
function fact(cardHtml: string, label: string): string {
  const m = new RegExp(`<dt>${label}</dt><dd[^>]*>([\\s\\S]*?)</dd>`).exec(cardHtml);
  assert.ok(m, `no fact ${label}`);
  return m[1]!.replace(/<[^>]+>/g, '').trim();
}

describe('Connected Apps', () => {
  const clock = new ManualClock(T0);
  let kf: TestKeyfob;
  let fx: Fixture;
  let alice: WebAgent;
  let aliceId: number;

  /** Alice allows the fixture's confidential app; the token request says who it is, as real clients do (§2). */
  async function authorize(): Promise<string> {
    const consent = await alice.answerConsent(
      authorizeUrl(kf, { response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI, 'app-name': 'media-tracker' }),
      'approve',
    );
    const code = callbackParams(consent).get('code');
    assert.ok(code);
    const res = await fetch(`${kf.apiUrl}/oauth/token?client_id=${fx.confidential.clientId}&app-name=media-tracker&app-version=2.5.0`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'user-agent': USER_AGENT },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        client_id: fx.confidential.clientId,
        client_secret: fx.confidential.clientSecret,
        redirect_uri: REDIRECT_URI,
      }).toString(),
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  async function grantId(): Promise<number> {
    const [row] = await kf.storage.listConnectedApps(aliceId);
    assert.ok(row);
    return row.grant.id;
  }

  before(async () => {
    kf = await startKeyfob({ clock });
    fx = await seedFixture(kf);
    aliceId = (await createUser(kf.storage, clock, { username: 'alice', password: PASSWORD })).id;
    alice = new WebAgent(kf.webUrl);
    await alice.signIn('alice', PASSWORD);
  });
  after(async () => kf.close());

  it('is at the path of reference §1, with or without the trailing slash, and needs sign-in', async () => {
    const bare = await alice.get('/settings/connected-apps');
    assert.equal(bare.status, 301);
    assert.equal(bare.headers.get('location'), '/settings/connected-apps/');
    const anonymous = await new WebAgent(kf.webUrl).get('/settings/connected-apps/');
    assert.equal(anonymous.status, 303);
    assert.equal(anonymous.headers.get('location'), '/signin?next=%2Fsettings%2Fconnected-apps%2F');
    const { res, html } = await alice.page('/settings/connected-apps/');
    assert.equal(res.status, 200);
    assert.match(html, /No apps are connected to your account\./);
    assert.match(html, /<a href="\/settings\/connected-apps\/" aria-current="page">Connected Apps<\/a>/);
    assert.match(html, /<a href="\/settings\/developer\/">Developer<\/a>/);
  });

  let firstToken: string;

  it('lists an authorized app with its label, permission, owner, times and what the client sent', async () => {
    firstToken = await authorize();
    const id = await grantId();
    const { html } = await alice.page('/settings/connected-apps/');
    const c = card(html, id);
    assert.equal(textById(c, `grant-${id}-title`), 'Test Confidential');
    assert.match(c, /<span class="badge">AUTH V1<\/span>/);
    assert.match(c, /Can read and update your media library\./);
    assert.equal(fact(c, 'Registered by'), fx.username);
    assert.equal(fact(c, 'First allowed'), '2026-01-15 09:30 UTC');
    assert.match(c, /<time datetime="2026-01-15T09:30:00.000Z">/);
    assert.equal(fact(c, 'API requests'), '0');
    assert.equal(fact(c, 'Last used'), 'never');
    assert.equal(fact(c, 'App name it sent'), 'media-tracker');
    assert.equal(fact(c, 'App version it sent'), '2.5.0');
    // Recorded as sent, shown escaped.
    assert.ok(c.includes('MediaTracker/2.5.0 &lt;b&gt;(test)&lt;/b&gt;'));
    assert.ok(!c.includes('<b>(test)</b>'));
    assert.match(c, /<button type="submit" class="danger">Revoke access<span class="visually-hidden"> for Test Confidential<\/span><\/button>/);
  });

  it('counts API requests and shows when the app last used the account and was last allowed', async () => {
    clock.advance(HOUR);
    for (let i = 0; i < 3; i++) assert.equal((await getSettings(kf, firstToken, fx.confidential.clientId)).status, 200);
    await kf.server.services.usage.flush();
    clock.advance(HOUR);
    // Allowing again keeps the same token (§5.4) and moves "last allowed", not "first allowed".
    assert.equal(await authorize(), firstToken);
    const c = card((await alice.page('/settings/connected-apps/')).html, await grantId());
    assert.equal(fact(c, 'API requests'), '3');
    assert.equal(fact(c, 'Last used'), '2026-01-15 10:30 UTC');
    assert.equal(fact(c, 'First allowed'), '2026-01-15 09:30 UTC');
    assert.match(fact(c, 'Last allowed'), /^2026-01-15 11:30 UTC/);
  });

  it('refuses a revoke without the CSRF token, and a revoke by someone else', async () => {
    const id = await grantId();
    const forged = await alice.post(`/settings/connected-apps/${id}/revoke/`, {});
    assert.equal(forged.status, 403);
    await createUser(kf.storage, clock, { username: 'mallory', password: PASSWORD });
    const mallory = new WebAgent(kf.webUrl);
    await mallory.signIn('mallory', PASSWORD);
    const { csrf, html } = await mallory.page('/settings/connected-apps/');
    assert.doesNotMatch(html, /Test Confidential/);
    const other = await mallory.post(`/settings/connected-apps/${id}/revoke/`, { _csrf: csrf });
    assert.equal(other.status, 404);
    assert.equal((await getSettings(kf, firstToken, fx.confidential.clientId)).status, 200);
  });

  it('revokes at once: the next call with the token is 401 user_token_failed', async () => {
    const id = await grantId();
    // The token was accepted before: its digest is kept (decision 0104), and decides nothing.
    assert.equal((await getSettings(kf, firstToken, fx.confidential.clientId)).status, 200);
    assert.ok(kf.server.services.acceptedTokens.kept(firstToken));
    const { csrf } = await alice.page('/settings/connected-apps/');
    const res = await alice.post(`/settings/connected-apps/${id}/revoke/`, { _csrf: csrf });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `/settings/connected-apps/?revoked=${id}`);

    const settings = await getSettings(kf, firstToken, fx.confidential.clientId);
    assert.equal(settings.status, 401);
    assert.deepEqual(await settings.json(), { error: 'user_token_failed', code: 401 });
    assert.equal(kf.server.services.acceptedTokens.kept(firstToken), undefined);

    const { html } = await alice.page(res.headers.get('location')!);
    assert.match(html, /role="status">Test Confidential can no longer use your account\./);
    assert.ok(!html.includes(`/settings/connected-apps/${id}/revoke/`));
    assert.match(html, /No apps are connected to your account\./);

    const again = await alice.post(`/settings/connected-apps/${id}/revoke/`, { _csrf: csrf });
    assert.equal(again.status, 404);
  });

  it('gives a new, working token when the app is allowed again after a revoke', async () => {
    clock.advance(HOUR);
    const second = await authorize();
    assert.match(second, /^[0-9a-f]{64}$/);
    assert.notEqual(second, firstToken);
    assert.equal((await getSettings(kf, second, fx.confidential.clientId)).status, 200);
    assert.equal((await getSettings(kf, firstToken, fx.confidential.clientId)).status, 401);
    await kf.server.services.usage.flush();
    const c = card((await alice.page('/settings/connected-apps/')).html, await grantId());
    assert.equal(fact(c, 'First allowed'), '2026-01-15 12:30 UTC');
    assert.equal(fact(c, 'API requests'), '1');
  });
});
