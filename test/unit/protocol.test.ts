import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseBasicAuth } from '../../src/oauth/client-auth.js';
import { ProtocolError } from '../../src/oauth/errors.js';
import { readNonEmpty, readParam } from '../../src/oauth/params.js';
import { isValidChallenge, parseChallengeMethod, s256, verifyPkce } from '../../src/oauth/pkce.js';
import { appendQuery, checkRegistrableRedirectUri, isRegisteredRedirectUri } from '../../src/oauth/redirect-uri.js';
import { deriveV1AccessToken, hashToken, looksLikeV1Token, newAuthCode, newClientId } from '../../src/oauth/tokens.js';

describe('pkce (RFC 7636)', () => {
  it('computes the RFC 7636 Appendix B example', () => {
    assert.equal(s256('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });
  it('method names are case-sensitive; S256 is the default', () => {
    assert.equal(parseChallengeMethod(undefined), 'S256');
    assert.equal(parseChallengeMethod(''), 'S256');
    assert.equal(parseChallengeMethod('S256'), 'S256');
    assert.equal(parseChallengeMethod('plain'), 'plain');
    for (const bad of ['s256', 'PLAIN', 'sha256', 'S 256']) assert.equal(parseChallengeMethod(bad), null);
  });
  it('verifies S256 and plain, refusing malformed verifiers even when they match', () => {
    const v = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
    assert.equal(verifyPkce(v, 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', 'S256'), true);
    assert.equal(verifyPkce(v, v, 'plain'), true);
    assert.equal(verifyPkce(`${v}x`, v, 'plain'), false);
    const short = 'a'.repeat(42);
    assert.equal(verifyPkce(short, short, 'plain'), false);
    const long = 'a'.repeat(129);
    assert.equal(verifyPkce(long, s256(long), 'S256'), false);
    assert.equal(verifyPkce('a'.repeat(42) + '+', s256('a'.repeat(42) + '+'), 'S256'), false);
  });
  it('challenges follow the verifier alphabet and length', () => {
    assert.equal(isValidChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM'), true);
    assert.equal(isValidChallenge('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c='), false);
    assert.equal(isValidChallenge('short'), false);
  });
});

describe('redirect URIs', () => {
  it('match byte for byte only', () => {
    const reg = ['https://app.example/cb', 'myapp://oauth'];
    assert.equal(isRegisteredRedirectUri(reg, 'https://app.example/cb'), true);
    for (const c of ['https://app.example/cb/', 'https://APP.example/cb', 'https://app.example/cb?x=1', 'https://app.example:443/cb', 'myapp://OAUTH', ' https://app.example/cb']) {
      assert.equal(isRegisteredRedirectUri(reg, c), false, c);
    }
  });
  it('append code and state before a fragment, keeping an existing query', () => {
    assert.equal(appendQuery('https://a.example/cb', { code: 'c', state: 's t' }), 'https://a.example/cb?code=c&state=s%20t');
    assert.equal(appendQuery('https://a.example/cb?x=1', { code: 'c' }), 'https://a.example/cb?x=1&code=c');
    assert.equal(appendQuery('chrome-extension://id/popup.html#simkl-oauth', { code: 'c' }), 'chrome-extension://id/popup.html?code=c#simkl-oauth');
    assert.equal(appendQuery('myapp://cb', { code: 'c', state: undefined }), 'myapp://cb?code=c');
  });
  it('refuse dangerous registrations', () => {
    for (const bad of ['javascript:alert(1)', 'data:text/html,x', 'no-scheme', 'https://user:pw@a.example/cb', 'https://a.example/c b', 'https:\\\\a.example', '']) {
      assert.notEqual(checkRegistrableRedirectUri(bad), null, bad);
    }
    for (const ok of ['https://a.example/cb', 'http://127.0.0.1:8765/callback', 'myapp://oauth', 'chrome-extension://abc/popup.html#simkl-oauth']) {
      assert.equal(checkRegistrableRedirectUri(ok), null, ok);
    }
  });
});

describe('parameters (RFC 6749 §3.1)', () => {
  it('refuse repeats and non-strings', () => {
    assert.equal(readParam({ a: 'x' }, 'a'), 'x');
    assert.equal(readParam({}, 'a'), undefined);
    assert.throws(() => readParam({ a: ['x', 'y'] }, 'a'), (e: unknown) => e instanceof ProtocolError && e.id === 'wrong_parameter');
    assert.throws(() => readParam({ a: 1 }, 'a'), ProtocolError);
    assert.throws(() => readParam({ a: { b: 1 } }, 'a'), ProtocolError);
    assert.equal(readNonEmpty({ a: '' }, 'a'), undefined);
  });
  it('ignore inherited properties', () => {
    assert.equal(readParam(Object.create({ a: 'x' }) as Record<string, unknown>, 'a'), undefined);
    assert.equal(readParam({}, '__proto__'), undefined);
  });
});

describe('HTTP Basic client credentials (RFC 6749 §2.3.1)', () => {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  it('decodes form-encoded parts', () => {
    assert.deepEqual(parseBasicAuth(`Basic ${b64('my%20id:s%3Acret+x')}`), { clientId: 'my id', clientSecret: 's:cret x' });
    assert.deepEqual(parseBasicAuth(`basic ${b64('id:')}`), { clientId: 'id', clientSecret: '' });
  });
  it('ignores other schemes and refuses malformed Basic', () => {
    assert.equal(parseBasicAuth(undefined), null);
    assert.equal(parseBasicAuth('Bearer abc'), null);
    assert.throws(() => parseBasicAuth(`Basic ${b64('no-colon')}`), (e: unknown) => e instanceof ProtocolError && e.id === 'secret_error');
    assert.throws(() => parseBasicAuth(`Basic ${b64('%zz:x')}`), ProtocolError);
  });
});

describe('tokens', () => {
  it('derive 64 hex characters from the server secret and seed, and nothing else', () => {
    const t = deriveV1AccessToken('secret-a', 'seed');
    assert.match(t, /^[0-9a-f]{64}$/);
    assert.equal(looksLikeV1Token(t), true);
    assert.equal(deriveV1AccessToken('secret-a', 'seed'), t);
    assert.notEqual(deriveV1AccessToken('secret-b', 'seed'), t);
    assert.notEqual(deriveV1AccessToken('secret-a', 'seed2'), t);
    assert.notEqual(hashToken(t), t);
  });
  it('make unguessable codes and client ids', () => {
    assert.notEqual(newAuthCode(), newAuthCode());
    assert.match(newClientId(), /^[0-9a-f]{64}$/);
  });
});

describe('errors', () => {
  it('serialise in the reference envelope', () => {
    assert.deepEqual(new ProtocolError('grant_error').toBody(), { error: 'grant_error', code: 401, message: 'Wrong or expired code' });
    assert.deepEqual(new ProtocolError('user_token_failed').toBody(), { error: 'user_token_failed', code: 401 });
    assert.deepEqual(new ProtocolError('secret_error', 'PKCE verification failed').toBody(), { error: 'secret_error', code: 401, message: 'PKCE verification failed' });
  });
});
