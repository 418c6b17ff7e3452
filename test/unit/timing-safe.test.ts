/**
 * Secrets are compared in constant time (RFC 6749 §10.10 spirit, RFC 9700 §4.x; SECURITY.md):
 * - keyfob's own comparisons of a presented secret with a stored one are constant-time:
 *   a client secret's digest against the stored digest (secretMatchesHash), a PKCE
 *   verifier's transform against the challenge (safeEqual);
 * - codes, tokens, session ids are never compared in the process at all: they are hashed
 *   and looked up by hash, so an attacker controls no prefix of what the index compares;
 * - CSRF tokens and signed cookies are checked by @fastify/csrf and @fastify/cookie, whose
 *   sources are checked here to still use crypto.timingSafeEqual.
 * The scan below fails if a `===`/`!==` between a secret-looking name and a value appears in src/.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { verifyPkce, s256 } from '../../src/oauth/pkce.js';
import { safeEqual } from '../../src/util/crypto.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** A secret-looking operand on either side of a strict (in)equality, other than a null/undefined/empty/typeof check. */
const SECRET = '[A-Za-z_.]*(?:secret|Secret|csrf|Csrf|token|Token|hash|Hash|verifier|Verifier|password|Password|challenge|Challenge|code|Code)[A-Za-z_]*(?:\\[[^\\]]*\\])?';
const COMPARISON = new RegExp(`(?:${SECRET}\\s*(?:===|!==|==|!=)\\s*(?!null\\b|undefined\\b|''|""|\\d)[A-Za-z_'"\`])|(?:[A-Za-z_)\\]]\\s*(?:===|!==|==|!=)\\s*${SECRET})`);
/** Comparisons that are not of secrets: shapes, counts, ids, error codes. Each is named with why. */
const ALLOWED: RegExp[] = [
  /typeof /, // a type test
  /\.code === '23505'/, // a PostgreSQL error code
  /e\.code === 'FST_/, // a Fastify error code
  /codeChallenge === null|codeChallengeMethod === null/, // presence of PKCE, not its value
  /challenge === undefined/, // presence of PKCE at authorize
  /grantType !== 'authorization_code'|responseType !== 'code'/, // public protocol words
  /ch !== code\[i\]/, // building neighbour codes of a code the caller typed
  /grant\.tokenSeed === seed/, // two values both held by the server (was a grant created?)
  /code\.appId !== app\.id|used\.appId === app\.id/, // ids, not secrets
  /password !== confirm/, // two fields of the same sign-up form, both typed by the same person
  /b\.result === 'OK' && typeof b\.access_token/, // reading a response in the CLI
  /init\.status !== 200/, // a status code
  /e\.code\.startsWith|UNAVAILABLE_CODES/, // node error codes
  /statusCode ===/, // an HTTP status
  /hashAt === -1/, // a string index
  /f\.redirectUri !== code\.redirectUri/, // a redirect URI: public, registered, sent in the clear
];

describe('timing-safe comparisons', () => {
  it('no secret is compared with === in src/', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(join(root, 'src'))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (/^\s*(\/\/|\*|\/\*)/.test(line)) return;
          if (COMPARISON.test(line) && !ALLOWED.some((a) => a.test(line))) offenders.push(`${file.slice(root.length + 1)}:${i + 1}: ${line.trim()}`);
        });
    }
    assert.deepEqual(offenders, []);
  });

  it('the scan recognises the comparisons it exists to catch', () => {
    for (const line of ['if (app.secretHash === sha256Hex(secret)) {', 'return token === presented;', "if (body._csrf !== cookieValue) throw x;", 'ok = verifier == challenge']) {
      assert.ok(COMPARISON.test(line) && !ALLOWED.some((a) => a.test(line)), line);
    }
  });

  it('client secrets are checked with secretMatchesHash, PKCE verifiers with safeEqual, both on timingSafeEqual', () => {
    assert.match(readFileSync(join(root, 'src/oauth/grants/authorization-code.ts'), 'utf8'), /secretMatchesHash\(f\.clientSecret, app\.secretHash\)/);
    assert.match(readFileSync(join(root, 'src/oauth/pkce.ts'), 'utf8'), /safeEqual\(computed, challenge\)/);
    const crypto = readFileSync(join(root, 'src/util/crypto.ts'), 'utf8');
    for (const fn of ['secretMatchesHash', 'safeEqual']) {
      const body = crypto.slice(crypto.indexOf(`export function ${fn}(`));
      assert.match(body.slice(0, body.indexOf('\n}\n')), /return timingSafeEqual\(left, right\);/, fn);
    }
  });

  it('safeEqual and verifyPkce answer right, whatever the lengths', () => {
    assert.equal(safeEqual('abc', 'abc'), true);
    assert.equal(safeEqual('abc', 'abd'), false);
    assert.equal(safeEqual('abc', 'abcd'), false);
    assert.equal(safeEqual('', ''), true);
    const v = 'a'.repeat(43);
    assert.equal(verifyPkce(v, s256(v), 'S256'), true);
    assert.equal(verifyPkce(v, v, 'plain'), true);
    assert.equal(verifyPkce(`${v}b`, s256(v), 'S256'), false);
    assert.equal(verifyPkce('short', 'short', 'plain'), false, 'a malformed verifier fails even when equal');
  });

  it('the CSRF and signed-cookie libraries still compare with crypto.timingSafeEqual', () => {
    const require = createRequire(import.meta.url);
    for (const mod of ['@fastify/csrf', '@fastify/cookie/signer.js']) {
      assert.match(readFileSync(require.resolve(mod), 'utf8'), /timingSafeEqual\(/, mod);
    }
  });
});
