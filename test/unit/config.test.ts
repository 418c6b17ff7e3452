import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../src/config/config.js';

const SECRET = 'x'.repeat(32);

describe('configuration', () => {
  it('has the documented defaults', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kf-config-'));
    const c = loadConfig({ database: join(dir, 'k.sqlite') }, {});
    assert.equal(c.webPort, 8080);
    assert.equal(c.apiPort, 8081);
    assert.equal(c.webUrl, 'http://127.0.0.1:8080');
    assert.equal(c.apiUrl, 'http://127.0.0.1:8081');
    assert.equal(c.signupEnabled, true);
    assert.equal(c.redisUrl, null);
    // A generated secret is kept beside the database, readable by the owner only.
    const file = join(dir, 'k.sqlite.secret');
    assert.ok(existsSync(file));
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.equal(readFileSync(file, 'utf8').trim(), c.secret);
    assert.equal(loadConfig({ database: join(dir, 'k.sqlite') }, {}).secret, c.secret, 'the same secret on the next start');
  });

  it('flags override the environment', () => {
    const c = loadConfig({ webPort: '9000', secret: SECRET, database: ':memory:' }, { KEYFOB_WEB_PORT: '7000', KEYFOB_API_PORT: '7001' });
    assert.equal(c.webPort, 9000);
    assert.equal(c.apiPort, 7001);
  });

  it('public URLs are normalised without a trailing slash', () => {
    const c = loadConfig({ secret: SECRET, database: ':memory:', webUrl: 'https://auth.example.com/', apiUrl: 'https://api.example.com' }, {});
    assert.equal(c.webUrl, 'https://auth.example.com');
    assert.equal(c.apiUrl, 'https://api.example.com');
  });

  const bad: Array<[string, Parameters<typeof loadConfig>[0], Record<string, string>, RegExp]> = [
    ['a port out of range', { webPort: '70000' }, {}, /web port .* 0 to 65535/],
    ['a port that is not a number', {}, { KEYFOB_API_PORT: 'http' }, /api port/],
    ['the same port twice', { webPort: '9000', apiPort: '9000' }, {}, /different ports/],
    ['a relative public URL', { webUrl: 'auth.example.com' }, {}, /web URL .* absolute/],
    ['a public URL with a query', { apiUrl: 'https://a.example/?x=1' }, {}, /query or fragment/],
    ['a short secret', { secret: 'short' }, {}, /at least 32 characters/],
    ['PostgreSQL without a secret', { database: 'postgres://127.0.0.1/test' }, {}, /KEYFOB_SECRET .* required with PostgreSQL/],
    ['a bad boolean', {}, { KEYFOB_SIGNUP: 'maybe' }, /signup .* true or false/],
    ['a bad log level', {}, { KEYFOB_LOG_LEVEL: 'loud' }, /log level/],
    ['a bad Redis URL', { redisUrl: 'http://x' }, {}, /redis:\/\//],
  ];
  for (const [name, flags, env, message] of bad) {
    it(`refuses ${name} with a clear message`, () => {
      const f = { secret: SECRET, database: ':memory:', ...flags };
      if (name === 'PostgreSQL without a secret') delete (f as { secret?: string }).secret;
      assert.throws(() => loadConfig(f, env), (e: unknown) => e instanceof ConfigError && message.test(e.message));
    });
  }
});
