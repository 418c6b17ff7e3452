import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/accounts/users.js';
import { authorizeUrl, getSettings, postToken } from '../helpers/flows.js';
import { controlIds, fieldError, labelledIds, textById } from '../helpers/html.js';
import { REDIRECT_URI, startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';
import { callbackParams, WebAgent } from '../helpers/web-agent.js';

const PASSWORD = 'correct horse battery';
const OTHER_URI = 'https://app.example/callback';

async function signedInUser(kf: TestKeyfob, username: string): Promise<{ agent: WebAgent; userId: number }> {
  const user = await createUser(kf.storage, kf.clock, { username, password: PASSWORD });
  const agent = new WebAgent(kf.webUrl);
  await agent.signIn(username, PASSWORD);
  return { agent, userId: user.id };
}

/** Registers an app through the page; returns the result page's credentials and the app's numeric id. */
async function registerApp(kf: TestKeyfob, agent: WebAgent, form: { name: string; redirect_uris: string; type: string }) {
  const { csrf } = await agent.page('/settings/developer/new/');
  const res = await agent.post('/settings/developer/new/', { _csrf: csrf, ...form });
  const html = await res.text();
  assert.equal(res.status, 201, html.slice(0, 500));
  const clientId = textById(html, 'client-id');
  assert.ok(clientId);
  const app = await kf.storage.findAppByClientId(clientId);
  assert.ok(app);
  return { res, html, clientId, clientSecret: textById(html, 'client-secret'), appId: app.id };
}

/** Runs consent + token exchange for a confidential app with the given secret. */
async function exchangeWith(kf: TestKeyfob, agent: WebAgent, clientId: string, secret: string, redirectUri = REDIRECT_URI): Promise<Response> {
  const consent = await agent.answerConsent(authorizeUrl(kf, { response_type: 'code', client_id: clientId, redirect_uri: redirectUri }), 'approve');
  assert.equal(consent.status, 302);
  const code = callbackParams(consent).get('code');
  assert.ok(code);
  return postToken(kf, { grant_type: 'authorization_code', code, client_id: clientId, client_secret: secret, redirect_uri: redirectUri });
}

describe('developer settings', () => {
  let kf: TestKeyfob;
  let alice: WebAgent;
  let aliceId: number;
  let mallory: WebAgent;

  before(async () => {
    kf = await startKeyfob();
    ({ agent: alice, userId: aliceId } = await signedInUser(kf, 'alice'));
    ({ agent: mallory } = await signedInUser(kf, 'mallory'));
  });
  after(async () => kf.close());

  it('sends visitors who are not signed in to sign-in and back', async () => {
    const res = await new WebAgent(kf.webUrl).get('/settings/developer/new/');
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/signin?next=%2Fsettings%2Fdeveloper%2Fnew%2F');
  });

  it('answers the paths of reference §1 with and without the trailing slash', async () => {
    for (const [from, to] of [
      ['/settings/developer', '/settings/developer/'],
      ['/settings/developer/new', '/settings/developer/new/'],
      ['/settings/developer/7?x=1', '/settings/developer/7/?x=1'],
    ] as const) {
      const res = await alice.get(from);
      assert.equal(res.status, 301, from);
      assert.equal(res.headers.get('location'), to);
    }
    // A form posted to the path without the slash is sent on with its body (308), not turned into a GET.
    const post = await alice.post('/settings/developer/new', { name: 'x' });
    assert.equal(post.status, 308);
    assert.equal(post.headers.get('location'), '/settings/developer/new/');
    const list = await alice.get('/settings/developer/');
    assert.equal(list.status, 200);
    assert.match(await list.text(), /<h1>Developer settings<\/h1>/);
  });

  it('shows a form whose every field has a label', async () => {
    const { res, html } = await alice.page('/settings/developer/new/');
    assert.equal(res.status, 200);
    const labels = labelledIds(html);
    const controls = controlIds(html);
    assert.deepEqual(controls, ['name', 'redirect_uris', 'type-confidential', 'type-public']);
    for (const id of controls) assert.ok(labels.has(id), `no label for ${id}`);
    assert.match(html, /<textarea id="redirect_uris" name="redirect_uris"/);
  });

  it('puts each error next to its field and creates nothing', async () => {
    const before = (await kf.storage.listAppsByOwner(aliceId)).length;
    const { csrf } = await alice.page('/settings/developer/new/');
    const res = await alice.post('/settings/developer/new/', { _csrf: csrf, name: '   ', redirect_uris: 'javascript:alert(1)\n', type: 'other' });
    assert.equal(res.status, 400);
    const html = await res.text();
    for (const [control, errorId, pattern] of [
      ['name', 'name-error', /1 to 80 characters/],
      ['redirect_uris', 'redirect_uris-error', /javascript: scheme/],
    ] as const) {
      const e = fieldError(html, control);
      assert.equal(e.invalid, true, control);
      assert.ok(e.describedBy.includes(errorId), control);
      assert.match(e.text ?? '', pattern);
    }
    assert.match(textById(html, 'type-error') ?? '', /confidential or public/);
    assert.match(html, /role="alert"/);
    // What was typed comes back, escaped.
    assert.match(html, />javascript:alert\(1\)\s*<\/textarea>/);
    assert.equal((await kf.storage.listAppsByOwner(aliceId)).length, before);
  });

  it('asks a confidential app for at least one redirect URI', async () => {
    const { csrf } = await alice.page('/settings/developer/new/');
    const res = await alice.post('/settings/developer/new/', { _csrf: csrf, name: 'No URIs', redirect_uris: '', type: 'confidential' });
    assert.equal(res.status, 400);
    assert.match(fieldError(await res.text(), 'redirect_uris').text ?? '', /at least one redirect URI/);
  });

  it('refuses a create without the CSRF token', async () => {
    const before = (await kf.storage.listAppsByOwner(aliceId)).length;
    const res = await alice.post('/settings/developer/new/', { name: 'Forged', redirect_uris: REDIRECT_URI, type: 'confidential' });
    assert.equal(res.status, 403);
    assert.match(await res.text(), /csrf_failed/);
    assert.equal((await kf.storage.listAppsByOwner(aliceId)).length, before);
  });

  it('creates a confidential app and shows its secret exactly once; only the hash is stored', async () => {
    const created = await registerApp(kf, alice, { name: 'Alice <Tracker>', redirect_uris: `${REDIRECT_URI}\r\n\r\n  ${OTHER_URI}  \n`, type: 'confidential' });
    assert.equal(created.res.headers.get('cache-control'), 'no-store');
    assert.match(created.clientId, /^[0-9a-f]{64}$/);
    assert.ok(created.clientSecret);
    assert.match(created.clientSecret, /^[0-9a-f]{64}$/);
    assert.match(created.html, /Alice &lt;Tracker&gt;/);
    assert.doesNotMatch(created.html, /Alice <Tracker>/);
    const stored = await kf.storage.findAppById(created.appId);
    assert.ok(stored);
    assert.equal(stored.ownerId, aliceId);
    assert.deepEqual(stored.redirectUris, [REDIRECT_URI, OTHER_URI]);
    assert.equal(stored.secretHash, createHash('sha256').update(created.clientSecret).digest('hex'));

    // The app's page and the list show the client_id, never the secret.
    const page = await alice.page(`/settings/developer/${created.appId}/`);
    assert.equal(page.res.status, 200);
    assert.equal(textById(page.html, 'client-id'), created.clientId);
    assert.ok(!page.html.includes(created.clientSecret));
    assert.match(page.html, /Confidential/);
    assert.match(page.html, /Rotate client secret/);
    const list = await alice.page('/settings/developer/');
    assert.ok(list.html.includes(created.clientId));
    assert.ok(!list.html.includes(created.clientSecret));
    assert.match(list.html, new RegExp(`href="/settings/developer/${created.appId}/"`));

    // And the secret works at the token endpoint.
    const token = await exchangeWith(kf, alice, created.clientId, created.clientSecret);
    assert.equal(token.status, 200);
  });

  it('creates a public app without a secret or redirect URIs', async () => {
    const created = await registerApp(kf, alice, { name: 'Alice TV', redirect_uris: '', type: 'public' });
    assert.equal(created.clientSecret, null);
    assert.match(created.html, /public app has no client secret/);
    const stored = await kf.storage.findAppById(created.appId);
    assert.equal(stored?.secretHash, null);
    assert.deepEqual(stored?.redirectUris, []);
    const page = await alice.page(`/settings/developer/${created.appId}/`);
    assert.doesNotMatch(page.html, /rotate-secret/);
    const rotate = await alice.post(`/settings/developer/${created.appId}/rotate-secret/`, { _csrf: page.csrf });
    assert.equal(rotate.status, 400);
    assert.match(await rotate.text(), /public app has no client secret/);
  });

  it('rotates the secret: the new one is shown once and works, the old one gets 401 secret_error', async () => {
    const created = await registerApp(kf, alice, { name: 'Rotating', redirect_uris: REDIRECT_URI, type: 'confidential' });
    const oldSecret = created.clientSecret!;
    const { csrf } = await alice.page(`/settings/developer/${created.appId}/`);
    const res = await alice.post(`/settings/developer/${created.appId}/rotate-secret/`, { _csrf: csrf });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const html = await res.text();
    const newSecret = textById(html, 'client-secret');
    assert.ok(newSecret);
    assert.match(newSecret, /^[0-9a-f]{64}$/);
    assert.notEqual(newSecret, oldSecret);
    assert.match(html, /old secret no longer works/);

    const withOld = await exchangeWith(kf, alice, created.clientId, oldSecret);
    assert.equal(withOld.status, 401);
    assert.deepEqual(await withOld.json(), { error: 'secret_error', code: 401, message: 'Wrong Secret' });
    const withNew = await exchangeWith(kf, alice, created.clientId, newSecret);
    assert.equal(withNew.status, 200);
    assert.match(String(((await withNew.json()) as { access_token: string }).access_token), /^[0-9a-f]{64}$/);
  });

  it('edits redirect URIs: a removed URI is refused at authorize, an added one works', async () => {
    const created = await registerApp(kf, alice, { name: 'Editable', redirect_uris: REDIRECT_URI, type: 'confidential' });
    const { csrf } = await alice.page(`/settings/developer/${created.appId}/`);
    const res = await alice.post(`/settings/developer/${created.appId}/`, { _csrf: csrf, name: 'Edited', redirect_uris: OTHER_URI });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), `/settings/developer/${created.appId}/?saved=1`);
    const after = await alice.page(res.headers.get('location')!);
    assert.match(after.html, /role="status">Your changes are saved\./);
    assert.match(after.html, /<h1>Edited<\/h1>/);
    assert.match(after.html, />https:\/\/app\.example\/callback<\/textarea>/);

    const removed = await alice.get(authorizeUrl(kf, { response_type: 'code', client_id: created.clientId, redirect_uri: REDIRECT_URI }));
    assert.equal(removed.status, 403);
    assert.match(await removed.text(), /redirect_failed/);
    const token = await exchangeWith(kf, alice, created.clientId, created.clientSecret!, OTHER_URI);
    assert.equal(token.status, 200);
  });

  it('shows edit errors next to the field and keeps the old settings', async () => {
    const created = await registerApp(kf, alice, { name: 'Keeps', redirect_uris: REDIRECT_URI, type: 'confidential' });
    const { csrf } = await alice.page(`/settings/developer/${created.appId}/`);
    const res = await alice.post(`/settings/developer/${created.appId}/`, { _csrf: csrf, name: 'Keeps', redirect_uris: 'not a uri' });
    assert.equal(res.status, 400);
    const e = fieldError(await res.text(), 'redirect_uris');
    assert.equal(e.invalid, true);
    assert.match(e.text ?? '', /must not contain spaces/);
    assert.deepEqual((await kf.storage.findAppById(created.appId))?.redirectUris, [REDIRECT_URI]);
  });

  it('deletes only after a confirmation step; the client_id then gets 412 at /users/settings', async () => {
    const created = await registerApp(kf, alice, { name: 'Doomed', redirect_uris: REDIRECT_URI, type: 'confidential' });
    const tokenRes = await exchangeWith(kf, alice, created.clientId, created.clientSecret!);
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    assert.equal((await getSettings(kf, token, created.clientId)).status, 200);

    const confirm = await alice.page(`/settings/developer/${created.appId}/delete/`);
    assert.equal(confirm.res.status, 200);
    assert.match(confirm.html, /<button type="submit" class="danger">Delete Doomed<\/button>/);
    assert.ok(await kf.storage.findAppById(created.appId), 'viewing the confirmation deletes nothing');

    const res = await alice.post(`/settings/developer/${created.appId}/delete/`, { _csrf: confirm.csrf });
    assert.equal(res.status, 303);
    assert.equal(res.headers.get('location'), '/settings/developer/?deleted=1');
    assert.equal(await kf.storage.findAppById(created.appId), null);
    const list = await alice.page('/settings/developer/?deleted=1');
    assert.match(list.html, /The app was deleted\./);
    assert.ok(!list.html.includes(created.clientId));

    const settings = await getSettings(kf, token, created.clientId);
    assert.equal(settings.status, 412);
    assert.deepEqual(await settings.json(), { error: 'client_id_failed', code: 412, message: 'Your client_id is wrong. Try another one' });
    assert.equal((await alice.get(`/settings/developer/${created.appId}/`)).status, 404);
  });

  it('lets only the owner see or change an app; everyone else gets 404', async () => {
    const created = await registerApp(kf, alice, { name: 'Private', redirect_uris: REDIRECT_URI, type: 'confidential' });
    const id = created.appId;
    const { csrf } = await mallory.page('/settings/developer/');
    const view = await mallory.get(`/settings/developer/${id}/`);
    assert.equal(view.status, 404);
    const viewHtml = await view.text();
    assert.ok(!viewHtml.includes(created.clientId));
    assert.equal((await mallory.get(`/settings/developer/${id}/delete/`)).status, 404);
    assert.equal((await mallory.post(`/settings/developer/${id}/`, { _csrf: csrf, name: 'Owned', redirect_uris: 'https://evil.example/cb' })).status, 404);
    assert.equal((await mallory.post(`/settings/developer/${id}/rotate-secret/`, { _csrf: csrf })).status, 404);
    assert.equal((await mallory.post(`/settings/developer/${id}/delete/`, { _csrf: csrf })).status, 404);
    const list = await mallory.page('/settings/developer/');
    assert.ok(!list.html.includes(created.clientId));

    const stored = await kf.storage.findAppById(id);
    assert.equal(stored?.name, 'Private');
    assert.deepEqual(stored?.redirectUris, [REDIRECT_URI]);
    assert.equal(stored?.secretHash, createHash('sha256').update(created.clientSecret!).digest('hex'));
    for (const bad of ['abc', '0', '-1', '99999999', '1e3']) assert.equal((await alice.get(`/settings/developer/${bad}/`)).status, 404, bad);
  });
});
