import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizeUrl } from '../helpers/flows.js';
import { REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';

/** RFC 9700 §4.1 and §4.11: no open redirector, whatever the trick. */
describe('no open redirector', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_RATE_LIMITS: 'false' } });
    fx = await seedFixture(kf);
    agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
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

  it('a local next path is kept', async () => {
    const visitor = new WebAgent(kf.webUrl);
    const page = await visitor.page('/signin?next=%2Fsettings%2Fconnected-apps');
    const res = await visitor.post('/signin', { _csrf: page.csrf, username: fx.username, password: fx.password, next: '/settings/connected-apps' });
    assert.equal(res.headers.get('location'), '/settings/connected-apps');
  });
});
