import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createUser } from '../../src/accounts/users.js';
import { SIGNIN_MAX_FAILURES_PER_ACCOUNT, SIGNIN_WINDOW_MS } from '../../src/web/routes/account.js';
import { authorizeUrl } from '../helpers/flows.js';
import { controlIds, fieldError, labelledIds } from '../helpers/html.js';
import { ManualClock, REDIRECT_URI, seedFixture, startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';

const PASSWORD = 'correct horse battery';

async function isSignedIn(agent: WebAgent): Promise<boolean> {
  const { html } = await agent.page('/');
  return /Signed in as/.test(html);
}

async function signInResponse(agent: WebAgent, username: string, password: string, next = '/'): Promise<Response> {
  const { csrf } = await agent.page('/signin');
  return agent.post('/signin', { _csrf: csrf, username, password, next });
}

describe('accounts on the web origin', () => {
  const clock = new ManualClock(Date.UTC(2026, 2, 1, 12, 0));
  let kf: TestKeyfob;

  before(async () => {
    kf = await startKeyfob({ clock });
  });
  after(async () => kf.close());

  describe('sign-up', () => {
    it('shows a form whose every field has a label', async () => {
      const { res, html } = await new WebAgent(kf.webUrl).page('/signup');
      assert.equal(res.status, 200);
      const labels = labelledIds(html);
      assert.deepEqual(controlIds(html), ['username', 'password', 'password_confirm']);
      for (const id of controlIds(html)) assert.ok(labels.has(id), id);
    });

    it('creates the account with an Argon2id hash and signs in with a signed, HttpOnly, SameSite cookie', async () => {
      const agent = new WebAgent(kf.webUrl);
      const { csrf } = await agent.page('/signup?next=%2Fsettings%2Fdeveloper%2F');
      const res = await agent.post('/signup', { _csrf: csrf, username: 'newcomer', password: PASSWORD, password_confirm: PASSWORD, next: '/settings/developer/' });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/settings/developer/');
      const cookie = res.headers.getSetCookie().find((c) => c.startsWith('kf_session='));
      assert.ok(cookie);
      assert.match(cookie, /; HttpOnly/i);
      assert.match(cookie, /; SameSite=Lax/i);
      assert.match(cookie, /; Path=\//i);
      // Signed: value.signature, and a changed value is not accepted.
      const value = /^kf_session=([^;]+)/.exec(cookie)![1]!;
      assert.match(value, /^[^.]+\.[^.]+$/);
      assert.ok(await isSignedIn(agent));
      const tampered = await fetch(`${kf.webUrl}/`, { headers: { cookie: `kf_session=x${value}` } });
      assert.doesNotMatch(await tampered.text(), /Signed in as/);

      const user = await kf.storage.findUserByUsername('newcomer');
      assert.ok(user);
      assert.match(user.passwordHash, /^\$argon2id\$v=19\$m=65536,p=4,t=3\$/);
      assert.ok(!user.passwordHash.includes(PASSWORD));
    });

    it('puts each problem next to its field', async () => {
      await createUser(kf.storage, clock, { username: 'taken', password: PASSWORD });
      const cases: Array<[Record<string, string>, number, string, RegExp]> = [
        [{ username: 'taken', password: PASSWORD, password_confirm: PASSWORD }, 409, 'username', /taken/],
        [{ username: 'a b', password: PASSWORD, password_confirm: PASSWORD }, 400, 'username', /3 to 32 letters/],
        [{ username: 'shortpw', password: 'short', password_confirm: 'short' }, 400, 'password', /at least 8/],
        [{ username: 'mismatch', password: PASSWORD, password_confirm: `${PASSWORD}!` }, 400, 'password_confirm', /differ/],
      ];
      for (const [form, status, control, message] of cases) {
        const agent = new WebAgent(kf.webUrl);
        const { csrf } = await agent.page('/signup');
        const res = await agent.post('/signup', { _csrf: csrf, next: '/', ...form });
        assert.equal(res.status, status, control);
        const html = await res.text();
        const e = fieldError(html, control);
        assert.equal(e.invalid, true, control);
        assert.ok(e.describedBy.includes(`${control}-error`), control);
        assert.match(e.text ?? '', message);
        assert.ok(!res.headers.getSetCookie().some((c) => c.startsWith('kf_session=')));
      }
      assert.equal(await kf.storage.findUserByUsername('mismatch'), null);
    });
  });

  describe('sign-up, several problems at once', () => {
    it('shows every problem next to its field in one answer', async () => {
      const agent = new WebAgent(kf.webUrl);
      const { csrf } = await agent.page('/signup');
      const res = await agent.post('/signup', { _csrf: csrf, next: '/', username: 'x y', password: 'short', password_confirm: 'other' });
      assert.equal(res.status, 400);
      const html = await res.text();
      assert.match(html, /role="alert">Some fields need a change/);
      for (const control of ['username', 'password', 'password_confirm']) assert.equal(fieldError(html, control).invalid, true, control);
      // What was typed comes back, except passwords.
      assert.match(html, /id="username" [^>]*value="x y"/);
      assert.doesNotMatch(html, /value="short"|value="other"/);
    });
  });

  describe('sign-in', () => {
    before(async () => {
      await createUser(kf.storage, clock, { username: 'carol', password: PASSWORD });
      await createUser(kf.storage, clock, { username: 'dave', password: PASSWORD });
    });

    it('signs in and goes to a local next page', async () => {
      const agent = new WebAgent(kf.webUrl);
      const res = await signInResponse(agent, 'carol', PASSWORD, '/settings/connected-apps/?x=1');
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/settings/connected-apps/?x=1');
      assert.ok(await isSignedIn(agent));
    });

    it('starts a new session at every sign-in and ends the one the browser had', async () => {
      const agent = new WebAgent(kf.webUrl);
      await agent.signIn('carol', PASSWORD);
      const first = agent.cookieHeader();
      // A second sign-in form posted from an older tab while already signed in.
      const { csrf } = await agent.page('/');
      const res = await agent.post('/signin', { _csrf: csrf, username: 'carol', password: PASSWORD, next: '/' });
      assert.equal(res.status, 303);
      const setCookies = res.headers.getSetCookie().filter((c) => c.startsWith('kf_session='));
      assert.equal(setCookies.length, 1, 'one Set-Cookie for the session, the new one');
      assert.notEqual(agent.cookieHeader(), first);
      assert.ok(await isSignedIn(agent));
      const replay = await fetch(`${kf.webUrl}/`, { headers: { cookie: first } });
      assert.doesNotMatch(await replay.text(), /Signed in as/);
    });

    it('says a wrong password or unknown user next to the password field, keeping the username', async () => {
      for (const [username, password] of [
        ['carol', 'wrong password'],
        ['nobody-here', PASSWORD],
      ]) {
        const agent = new WebAgent(kf.webUrl);
        const res = await signInResponse(agent, username, password);
        assert.equal(res.status, 401);
        const html = await res.text();
        const e = fieldError(html, 'password');
        assert.equal(e.invalid, true);
        assert.deepEqual(e.describedBy, ['password-error']);
        assert.equal(e.text, 'That username and password do not match.');
        assert.match(html, new RegExp(`id="username" [^>]*value="${username}"`));
        assert.equal(await isSignedIn(agent), false);
      }
    });

    it('asks for a missing username next to that field', async () => {
      const res = await signInResponse(new WebAgent(kf.webUrl), '', PASSWORD);
      assert.equal(res.status, 400);
      const e = fieldError(await res.text(), 'username');
      assert.equal(e.invalid, true);
      assert.equal(e.text, 'Enter your username.');
    });

    it('locks an account after repeated failures with 429 and Retry-After, and lets it in again after the window', async () => {
      const agent = new WebAgent(kf.webUrl);
      for (let i = 0; i < SIGNIN_MAX_FAILURES_PER_ACCOUNT; i++) assert.equal((await signInResponse(agent, 'dave', `guess ${i}`)).status, 401);
      // Even the right password is refused while locked.
      const locked = await signInResponse(agent, 'dave', PASSWORD);
      assert.equal(locked.status, 429);
      assert.equal(locked.headers.get('retry-after'), String(SIGNIN_WINDOW_MS / 1000));
      assert.match(await locked.text(), /role="alert">Too many failed sign-in attempts/);
      assert.equal(await isSignedIn(agent), false);
      // Another account from the same address is not locked.
      assert.equal((await signInResponse(new WebAgent(kf.webUrl), 'carol', PASSWORD)).status, 303);

      clock.advance(SIGNIN_WINDOW_MS + 1000);
      assert.equal((await signInResponse(agent, 'dave', PASSWORD)).status, 303);
      assert.ok(await isSignedIn(agent));
    });

    it('never redirects off-site with next', async () => {
      for (const next of ['//evil.example', 'https://evil.example', '/\\evil.example', '\\\\evil.example', 'javascript:alert(1)', '/%0d%0a//evil.example'.replace('%0d%0a', '\r\n')]) {
        const page = await new WebAgent(kf.webUrl).page(`/signin?next=${encodeURIComponent(next)}`);
        assert.match(page.html, /<input type="hidden" name="next" value="\/">/, next);
        const agent = new WebAgent(kf.webUrl);
        const res = await signInResponse(agent, 'carol', PASSWORD, next);
        assert.equal(res.status, 303, next);
        assert.equal(res.headers.get('location'), '/', next);
        // Already signed in: GET /signin?next= redirects too, just as safely.
        const again = await agent.get(`/signin?next=${encodeURIComponent(next)}`);
        assert.equal(again.headers.get('location'), '/', next);
      }
    });
  });

  describe('sign-out', () => {
    it('needs the CSRF token, ends the session in the database and clears the cookie', async () => {
      const agent = new WebAgent(kf.webUrl);
      await agent.signIn('carol', PASSWORD);
      const oldCookie = agent.cookieHeader();

      const forged = await agent.post('/signout', {});
      assert.equal(forged.status, 403);
      assert.ok(await isSignedIn(agent));

      const { csrf } = await agent.page('/');
      const res = await agent.post('/signout', { _csrf: csrf });
      assert.equal(res.status, 303);
      assert.equal(res.headers.get('location'), '/');
      assert.equal(agent.hasCookie('kf_session'), false);
      assert.equal(await isSignedIn(agent), false);
      // The old cookie no longer opens a session: it was deleted server-side, not only in the browser.
      const replay = await fetch(`${kf.webUrl}/`, { headers: { cookie: oldCookie } });
      assert.doesNotMatch(await replay.text(), /Signed in as/);
    });
  });

  describe('CSRF', () => {
    it('refuses every form POST without a valid token with 403', async () => {
      const agent = new WebAgent(kf.webUrl);
      await agent.page('/signin');
      const missing = await agent.post('/signin', { username: 'carol', password: PASSWORD, next: '/' });
      assert.equal(missing.status, 403);
      assert.match(await missing.text(), /<code>csrf_failed<\/code>/);
      // A token from another browser (another secret cookie) does not work either.
      const { csrf: foreign } = await new WebAgent(kf.webUrl).page('/signin');
      const wrong = await agent.post('/signin', { _csrf: foreign, username: 'carol', password: PASSWORD, next: '/' });
      assert.equal(wrong.status, 403);
      assert.equal(await isSignedIn(agent), false);
      const signup = await agent.post('/signup', { username: 'csrfless', password: PASSWORD, password_confirm: PASSWORD });
      assert.equal(signup.status, 403);
      assert.equal(await kf.storage.findUserByUsername('csrfless'), null);
    });
  });

  describe('security headers and markup', () => {
    it('send a strict CSP, refuse framing and send no referrer on every page; pages carry no inline script or style', async () => {
      const fx = await seedFixture(kf);
      const agent = new WebAgent(kf.webUrl);
      await agent.signIn(fx.username, fx.password);
      const anonymous = new WebAgent(kf.webUrl);
      const pages: Array<[WebAgent, string, number]> = [
        [anonymous, '/', 200],
        [anonymous, '/signin', 200],
        [anonymous, '/signup', 200],
        [anonymous, '/no-such-page', 404],
        [agent, '/', 200],
        [agent, '/settings/developer/', 200],
        [agent, '/settings/developer/new/', 200],
        [agent, `/settings/developer/${fx.confidential.appId}/`, 200],
        [agent, `/settings/developer/${fx.confidential.appId}/delete/`, 200],
        [agent, '/settings/connected-apps/', 200],
        [agent, authorizeUrl(kf, { response_type: 'code', client_id: fx.confidential.clientId, redirect_uri: REDIRECT_URI }), 200],
      ];
      for (const [who, path, status] of pages) {
        const res = await who.get(path);
        assert.equal(res.status, status, path);
        const csp = res.headers.get('content-security-policy') ?? '';
        const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
        assert.deepEqual(directives.get('default-src'), ["'none'"], path);
        assert.deepEqual(directives.get('script-src'), ["'self'"], path);
        assert.deepEqual(directives.get('style-src'), ["'self'"], path);
        assert.deepEqual(directives.get('frame-ancestors'), ["'none'"], path);
        assert.deepEqual(directives.get('base-uri'), ["'none'"], path);
        assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*/, path);
        assert.equal(res.headers.get('x-frame-options'), 'DENY', path);
        assert.equal(res.headers.get('referrer-policy'), 'no-referrer', path);
        assert.equal(res.headers.get('x-content-type-options'), 'nosniff', path);
        assert.match(res.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, path);
        assert.equal(res.headers.get('cache-control'), 'no-store', path);

        const html = await res.text();
        assert.match(html, /<meta name="viewport" content="width=device-width, initial-scale=1">/, path);
        assert.match(html, /<html lang="en">/, path);
        assert.doesNotMatch(html, /<script(?![^>]*\ssrc=)[^>]*>/, `${path}: inline script`);
        assert.doesNotMatch(html, /\sstyle=|<style/, `${path}: inline style`);
        assert.doesNotMatch(html, /\son[a-z]+=/, `${path}: inline event handler`);
        // Every visible control has a label.
        const labels = labelledIds(html);
        for (const id of controlIds(html)) assert.ok(labels.has(id), `${path}: ${id} has no label`);
        // Signed-in pages carry a usable sign-out form.
        if (who === agent) assert.match(html, /<form method="post" action="\/signout" class="inline">\s*<input type="hidden" name="_csrf" value="[^"]+">/, path);
      }
    });

    it('gives signed-in error pages a working sign-out form', async () => {
      const agent = new WebAgent(kf.webUrl);
      await agent.signIn('carol', PASSWORD);
      const { res, csrf } = await agent.page('/settings/developer/999999/');
      assert.equal(res.status, 404);
      assert.ok(csrf);
      assert.equal((await agent.post('/signout', { _csrf: csrf })).status, 303);
      assert.equal(await isSignedIn(agent), false);
    });
  });
});

describe('sign-up turned off', () => {
  let kf: TestKeyfob;
  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_SIGNUP: 'false' } });
  });
  after(async () => kf.close());

  it('offers no sign-up link and refuses the page and the form with 403', async () => {
    const agent = new WebAgent(kf.webUrl);
    const home = await agent.page('/');
    assert.doesNotMatch(home.html, /href="\/signup/);
    const signin = await agent.page('/signin');
    assert.doesNotMatch(signin.html, /href="\/signup/);

    const page = await agent.get('/signup');
    assert.equal(page.status, 403);
    assert.match(await page.text(), /<code>signup_closed<\/code>/);
    const post = await agent.post('/signup', { _csrf: signin.csrf, username: 'intruder', password: PASSWORD, password_confirm: PASSWORD, next: '/' });
    assert.equal(post.status, 403);
    assert.equal(await kf.storage.findUserByUsername('intruder'), null);
    assert.equal(await kf.storage.countUsers(), 0);
  });
});

describe('served behind https', () => {
  let kf: TestKeyfob;
  before(async () => {
    kf = await startKeyfob({ env: { KEYFOB_WEB_URL: 'https://id.example' } });
    await createUser(kf.storage, kf.clock, { username: 'erin', password: PASSWORD });
  });
  after(async () => kf.close());

  it('marks the session and CSRF cookies Secure and sends HSTS', async () => {
    // The public URL is https (a proxy ends TLS); the test talks to the bound port directly.
    const agent = new WebAgent(`http://127.0.0.1:${kf.config.webPort}`);
    const page = await agent.get('/signin');
    assert.equal(page.headers.get('strict-transport-security'), 'max-age=31536000; includeSubDomains');
    const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith('kf_csrf='));
    assert.ok(csrfCookie);
    assert.match(csrfCookie, /; Secure/i);
    assert.match(csrfCookie, /; HttpOnly/i);
    assert.match(csrfCookie, /; SameSite=Strict/i);
    const res = await agent.post('/signin', { _csrf: (await agent.page('/signin')).csrf, username: 'erin', password: PASSWORD, next: '/' });
    assert.equal(res.status, 303);
    const session = res.headers.getSetCookie().find((c) => c.startsWith('kf_session='));
    assert.ok(session);
    assert.match(session, /; Secure/i);
    assert.match(session, /; HttpOnly/i);
  });
});
