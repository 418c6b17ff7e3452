import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizeUrl } from '../helpers/flows.js';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin, confirmFields, enterCode, startPinOk } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/** RFC 9700 §4.1 and §4.11: no open redirector, whatever the trick. */
describe('no open redirector', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  const tricks = [
    'http://127.0.0.1:8765@evil.example/callback',
    'http://evil.example@127.0.0.1:8765/callback',
    'http://127.0.0.1:8765\\@evil.example/callback',
    'http://127.0.0.1:8765/callback\\..\\evil',
    'http://127.0.0.1:8765/callback/../../evil.example',
    'http://127.0.0.1:8765/%2e%2e/evil',
    'http://127.0.0.1:8765/callback%2F..%2Fevil',
    'http://127.0.0.1.evil.example:8765/callback',
    'http://127.0.0.1:87650/callback',
    'http://127.0.0.1:8765:80/callback',
    'http://127.0.0.1:80/callback',
    'HTTP://127.0.0.1:8765/callback',
    'http://127.0.0.1:8765/callback#@evil.example',
    'http://127.0.0.1:8765/callback?next=https://evil.example',
    'http://127.0.0.1:8765/callback ',
    ' http://127.0.0.1:8765/callback',
    'http://127.0.0.1:8765/callback%20',
    'http://127.0.0.1:8765/callback\t',
    'http://127。0。0。1:8765/callback',
    'http://0x7f.0.0.1:8765/callback',
    '//evil.example/callback',
    'javascript:alert(1)//http://127.0.0.1:8765/callback',
  ];

  for (const uri of tricks) {
    it(`authorize refuses redirect_uri ${JSON.stringify(uri)} on a page, with no redirect`, async () => {
      for (const response_type of ['code', 'token']) {
        const res = await agent.get(authorizeUrl(kf, { response_type, client_id: fx.confidential.clientId, redirect_uri: uri, state: 's' }));
        assert.equal(res.status, 403, uri);
        assert.equal(res.headers.get('location'), null);
        await res.text();
      }
    });
  }

  it('the consent POST cannot be turned into a redirect to an unregistered URI', async () => {
    for (const uri of tricks.slice(0, 6)) {
      const { csrf } = await agent.page(authorizeUrl(kf, { response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI }));
      const res = await agent.post('/oauth/authorize', { _csrf: csrf, response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: uri, decision: 'approve' });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('location'), null);
    }
  });

  it('deny always goes to / whatever is sent', async () => {
    const { csrf } = await agent.page(authorizeUrl(kf, { response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI }));
    const res = await agent.post('/oauth/authorize', { _csrf: csrf, response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI, decision: 'deny', next: 'https://evil.example' });
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
  });

  const nexts = [
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    'https://evil.example',
    'http:evil.example',
    'javascript:alert(1)',
    '/\t/evil.example',
    '/\n/evil.example',
    ' //evil.example',
    'evil.example',
    '@evil.example',
  ];
  for (const next of nexts) {
    it(`sign-in next=${JSON.stringify(next)} stays on this site`, async () => {
      const visitor = new WebAgent(kf.webUrl);
      const page = await visitor.page(`/signin?next=${encodeURIComponent(next)}`);
      assert.doesNotMatch(page.html, /evil\.example/, 'not even echoed into the form');
      const res = await visitor.post('/signin', { _csrf: page.csrf, username: fx.username, password: fx.password, next });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/');
      // Signed in already: GET /signin?next= redirects at once, and safely too.
      const again = await visitor.get(`/signin?next=${encodeURIComponent(next)}`);
      assert.equal(again.status, 303);
      assert.equal(again.headers.get('location'), '/');
    });
  }

  for (const uri of tricks) {
    it(`GET /oauth/pin refuses redirect=${JSON.stringify(uri)} with 403 redirect_failed and creates nothing`, async () => {
      for (const client of [fx.public.clientId, fx.confidential.clientId]) {
        const res = await fetch(`${kf.apiUrl}/oauth/pin?${new URLSearchParams({ client_id: client, redirect: uri })}`);
        assert.equal(res.status, 403, uri);
        assert.equal(res.headers.get('location'), null);
        assert.deepEqual(await res.json(), { error: 'redirect_failed', code: 403, message: 'Invalid redirect. This value must match a URL registered with the API Key.' });
      }
    });
  }

  it('a PIN approved on /pin sends the browser only to its registered redirect, whatever the form adds', async () => {
    const pin = await startPinOk(kf, fx.public.clientId, { redirect: REDIRECT_URI });
    const { res, html } = await enterCode(agent, pin.user_code);
    assert.equal(res.status, 200);
    const fields = confirmFields(html);
    assert.equal(fields.redirect, undefined, 'the redirect never travels through the form');
    const approved = await agent.post('/pin/confirm', { ...fields, decision: 'approve', redirect: 'https://evil.example/cb', next: '//evil.example' });
    assert.equal(approved.status, 303);
    assert.equal(approved.headers.get('location'), REDIRECT_URI);
  });

  it('a PIN without redirect, or denied, redirects nowhere', async () => {
    const plain = await startPinOk(kf, fx.public.clientId);
    const done = await answerPin(agent, plain.user_code, 'approve');
    assert.equal(done.status, 200);
    assert.equal(done.headers.get('location'), null);
    await done.text();
    const withRedirect = await startPinOk(kf, fx.public.clientId, { redirect: REDIRECT_URI });
    const denied = await answerPin(agent, withRedirect.user_code, 'deny');
    assert.equal(denied.status, 200);
    assert.equal(denied.headers.get('location'), null);
    await denied.text();
  });

  for (const path of ['/pin', '/pin/ABCDE', '/pin/%2F%2Fevil.example', '/pin//evil.example', '/pin/..%2F..%2F%2Fevil.example']) {
    it(`signed out, ${path} sends to sign-in with a local next only`, async () => {
      const visitor = new WebAgent(kf.webUrl);
      const res = await visitor.get(path);
      if (res.status === 303) {
        const loc = res.headers.get('location')!;
        assert.match(loc, /^\/signin\?next=%2F/);
        const next = decodeURIComponent(loc.slice('/signin?next='.length));
        assert.ok(next.startsWith('/') && !next.startsWith('//') && !next.includes('\\'), next);
      } else {
        assert.ok(res.status >= 400 && res.status < 500, `${path}: ${res.status}`);
        assert.equal(res.headers.get('location'), null);
      }
      await res.text();
    });
  }

  it('a local next path is kept', async () => {
    const visitor = new WebAgent(kf.webUrl);
    const page = await visitor.page('/signin?next=%2Fsettings%2Fconnected-apps');
    const res = await visitor.post('/signin', { _csrf: page.csrf, username: fx.username, password: fx.password, next: '/settings/connected-apps' });
    assert.equal(res.headers.get('location'), '/settings/connected-apps');
  });
});
