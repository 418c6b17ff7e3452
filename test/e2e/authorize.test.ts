import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authorizeUrl } from '../helpers/flows.js';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { callbackParams, hiddenFields, WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

describe('GET /oauth/authorize (reference §4)', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn());
  });
  after(async () => kf.close());

  const base = () => ({ response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI, state: 'st' });

  it('on the api origin answers 404 naming the web origin', async () => {
    const res = await fetch(`${kf.apiUrl}/oauth/authorize?${new URLSearchParams(base())}`);
    assert.equal(res.status, 404);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    const body = (await res.json()) as { error: string; code: number; message: string };
    assert.equal(body.error, 'url_failed');
    assert.equal(body.code, 404);
    assert.ok(body.message.includes(`${kf.webUrl}/oauth/authorize`), body.message);
  });

  it('sends a visitor who is not signed in to sign-in, then back to the same consent', async () => {
    const visitor = new WebAgent(kf.webUrl);
    const url = authorizeUrl(kf, base());
    const res = await visitor.get(url);
    assert.equal(res.status, 303);
    const loc = new URL(res.headers.get('location')!, kf.webUrl);
    assert.equal(loc.pathname, '/signin');
    const next = loc.searchParams.get('next')!;
    assert.equal(next, url.slice(kf.webUrl.length));
    const { csrf } = await visitor.page(`/signin?next=${encodeURIComponent(next)}`);
    const signin = await visitor.post('/signin', { _csrf: csrf, username: fx.username, password: fx.password, next });
    assert.equal(signin.status, 303);
    assert.equal(signin.headers.get('location'), next);
    const consent = await visitor.page(next);
    assert.equal(consent.res.status, 200);
    assert.match(consent.html, /Test Confidential/);
  });

  it('shows a consent page naming the app and its owner, carrying every parameter', async () => {
    const { res, html } = await agent.page(
      authorizeUrl(kf, { ...base(), 'app-name': 'kodi-bridge', 'app-version': '2.4.1', scope: 'public write offline_access' }),
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/html/);
    assert.match(html, /Allow <strong>Test Confidential<\/strong>/);
    assert.ok(html.includes(fx.username), 'owner named');
    const fields = hiddenFields(html);
    assert.equal(fields.client_id, fx.confidential.clientId);
    assert.equal(fields['app-name'], 'kodi-bridge');
    assert.equal(fields.scope, 'public write offline_access');
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /frame-ancestors 'none'/);
    assert.match(csp, /form-action 'self' http:\/\/127\.0\.0\.1:8765/);
    assert.doesNotMatch(csp, /unsafe-inline/);
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
  });

  it('approve redirects to redirect_uri with the code and the untouched state', async () => {
    const state = 'a b&c=d/é?#%';
    const res = await agent.answerConsent(authorizeUrl(kf, { ...base(), state }), 'approve');
    assert.equal(res.status, 302);
    const loc = res.headers.get('location')!;
    assert.ok(loc.startsWith(`${REDIRECT_URI}?code=`), loc);
    const p = callbackParams(res);
    assert.equal(p.get('state'), state);
    assert.match(p.get('code')!, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(p.get('iss'), null, 'V1 sends no iss (§4.2)');
  });

  it('approve without state sends no state parameter', async () => {
    const { state: _s, ...noState } = base();
    const res = await agent.answerConsent(authorizeUrl(kf, noState), 'approve');
    const p = callbackParams(res);
    assert.ok(p.get('code'));
    assert.equal(p.has('state'), false);
  });

  it('deny sends the browser to / on the web origin, never to the client (§4.2)', async () => {
    const res = await agent.answerConsent(authorizeUrl(kf, base()), 'deny');
    assert.equal(res.status, 302);
    assert.equal(res.headers.get('location'), '/');
  });

  describe('errors before client and redirect_uri are verified are shown, never redirected', () => {
    const cases: Array<[string, () => Record<string, string> | string, number, RegExp]> = [
      ['missing client_id', () => ({ response_type: 'code', redirect_uri: REDIRECT_URI }), 400, /client_id is missing/],
      ['unknown client_id', () => ({ ...base(), client_id: 'f'.repeat(64) }), 400, /client_id is wrong/],
      ['unregistered redirect_uri', () => ({ ...base(), redirect_uri: 'https://evil.example/cb' }), 403, /must match a URL registered/],
      ['redirect_uri differing by a trailing slash', () => ({ ...base(), redirect_uri: `${REDIRECT_URI}/` }), 403, /must match a URL registered/],
      ['redirect_uri differing in letter case', () => ({ ...base(), redirect_uri: REDIRECT_URI.replace('callback', 'Callback') }), 403, /must match/],
      ['missing redirect_uri when the app registered one', () => ({ response_type: 'code', client_id: fx.confidential.clientId }), 403, /redirect_uri is required/],
      [
        'client_id sent twice',
        () => `response_type=code&client_id=${fx.confidential.clientId}&client_id=${fx.public.clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}`,
        400,
        /more than once/,
      ],
      [
        'redirect_uri sent twice',
        () => `response_type=code&client_id=${fx.confidential.clientId}&redirect_uri=${encodeURIComponent(REDIRECT_URI)}&redirect_uri=https%3A%2F%2Fevil.example`,
        403,
        /more than once/,
      ],
    ];
    for (const [name, params, status, message] of cases) {
      it(name, async () => {
        const p = params();
        const url = typeof p === 'string' ? `${kf.webUrl}/oauth/authorize?${p}` : authorizeUrl(kf, p);
        const { res, html } = await agent.page(url);
        assert.equal(res.status, status);
        assert.equal(res.headers.get('location'), null);
        assert.match(html, message);
        assert.doesNotMatch(html, /name="decision"/);
      });
    }

    it('answers JSON in the envelope when the client asks for JSON', async () => {
      const res = await agent.get(authorizeUrl(kf, { ...base(), redirect_uri: 'https://evil.example/cb' }), { accept: 'application/json' });
      assert.equal(res.status, 403);
      assert.deepEqual(await res.json(), {
        error: 'redirect_failed',
        code: 403,
        message: 'Invalid redirect_uri. This value must match a URL registered with the API Key.',
      });
    });
  });

  describe('errors after verification are redirected to the client (RFC 6749 §4.1.2.1)', () => {
    it('response_type other than code', async () => {
      const res = await agent.get(authorizeUrl(kf, { ...base(), response_type: 'token' }));
      assert.equal(res.status, 302);
      const p = callbackParams(res);
      assert.equal(p.get('error'), 'unsupported_response_type');
      assert.equal(p.get('state'), 'st');
      assert.ok(res.headers.get('location')!.startsWith(`${REDIRECT_URI}?`));
    });
    it('missing response_type', async () => {
      const { response_type: _r, ...rest } = base();
      const p = callbackParams(await agent.get(authorizeUrl(kf, rest)));
      assert.equal(p.get('error'), 'invalid_request');
      assert.match(p.get('error_description')!, /response_type/);
    });
    it('a parameter other than client_id and redirect_uri sent twice', async () => {
      const qs = `${new URLSearchParams(base())}&state=again`;
      const p = callbackParams(await agent.get(`${kf.webUrl}/oauth/authorize?${qs}`));
      assert.equal(p.get('error'), 'invalid_request');
      assert.match(p.get('error_description')!, /state was sent more than once/);
    });
    it('a state over 1024 characters is refused and not echoed', async () => {
      const p = callbackParams(await agent.get(authorizeUrl(kf, { ...base(), state: 'x'.repeat(1025) })));
      assert.equal(p.get('error'), 'invalid_request');
      assert.equal(p.has('state'), false);
    });
  });

  it('the consent POST is refused without a CSRF token', async () => {
    const { html } = await agent.page(authorizeUrl(kf, base()));
    const fields = hiddenFields(html);
    delete fields._csrf;
    const res = await agent.post('/oauth/authorize', { ...fields, decision: 'approve' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
  });

  it('a session that ended while the consent page was open leads through sign-in back to the same consent', async () => {
    const visitor = new WebAgent(kf.webUrl);
    await visitor.signIn(fx.username, fx.password);
    const url = authorizeUrl(kf, { ...base(), state: 'kept' });
    const { html } = await visitor.page(url);
    const fields = hiddenFields(html);
    // Sign out in the same browser (another tab), keeping the consent form's CSRF token.
    const home = await visitor.page('/');
    await visitor.post('/signout', { _csrf: home.csrf });
    const res = await visitor.post('/oauth/authorize', { ...fields, _csrf: (await visitor.page('/signin')).csrf, decision: 'approve' });
    assert.equal(res.status, 303);
    const next = new URL(res.headers.get('location')!, kf.webUrl).searchParams.get('next')!;
    assert.equal(new URL(next, kf.webUrl).pathname, '/oauth/authorize');
    assert.deepEqual(Object.fromEntries(new URL(next, kf.webUrl).searchParams), Object.fromEntries(new URL(url).searchParams));
  });

  it('the consent POST re-checks the carried parameters', async () => {
    const { html } = await agent.page(authorizeUrl(kf, base()));
    const fields = hiddenFields(html);
    const res = await agent.post('/oauth/authorize', { ...fields, redirect_uri: 'https://evil.example/cb', decision: 'approve' });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('location'), null);
  });
});
