import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, startCli, stopChild } from '../helpers/cli.js';
import { freePort } from '../helpers/keyfob.js';

const fresh = () => join(mkdtempSync(join(tmpdir(), 'kf-cli-')), 'keyfob.sqlite');

describe('keyfob command', () => {
  it('users create, apps create, apps list with --json', async () => {
    const db = fresh();
    const user = await runCli(['users', 'create', '--username', 'alice', '--password', 'a-long-password', '--database', db, '--json']);
    assert.equal(user.code, 0, user.stderr);
    assert.deepEqual(JSON.parse(user.stdout), { id: 1, username: 'alice' });

    const conf = await runCli(['apps', 'create', '--owner', 'alice', '--name', 'Scrobbler', '--redirect-uri', 'https://a.example/cb', '--redirect-uri', 'myapp://cb', '--database', db, '--json']);
    assert.equal(conf.code, 0, conf.stderr);
    const confJson = JSON.parse(conf.stdout) as Record<string, string>;
    assert.deepEqual(Object.keys(confJson).sort(), ['client_id', 'client_secret']);
    assert.match(confJson.client_id!, /^[0-9a-f]{64}$/);
    assert.match(confJson.client_secret!, /^[0-9a-f]{64}$/);

    const pub = await runCli(['apps', 'create', '--owner', 'alice', '--name', 'Phone', '--public', '--database', db, '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    assert.deepEqual(Object.keys(JSON.parse(pub.stdout) as object), ['client_id']);

    const list = await runCli(['apps', 'list', '--database', db, '--json']);
    assert.equal(list.code, 0, list.stderr);
    const apps = JSON.parse(list.stdout) as Array<Record<string, unknown>>;
    assert.equal(apps.length, 2);
    assert.deepEqual(apps[0]!.redirect_uris, ['https://a.example/cb', 'myapp://cb']);
    assert.equal(apps[0]!.type, 'confidential');
    assert.equal(apps[1]!.type, 'public');
    assert.ok(!list.stdout.includes(confJson.client_secret!), 'the secret is never listed');
  });

  it('refuses bad input with a clear message and exit code 2', async () => {
    const db = fresh();
    const shortPw = await runCli(['users', 'create', '--username', 'bob', '--password', 'short', '--database', db]);
    assert.equal(shortPw.code, 2);
    assert.match(shortPw.stderr, /at least 8 characters/);
    const noOwner = await runCli(['apps', 'create', '--owner', 'nobody', '--name', 'X', '--redirect-uri', 'https://a.example/cb', '--database', db]);
    assert.equal(noOwner.code, 2);
    assert.match(noOwner.stderr, /no user named nobody/);
    await runCli(['users', 'create', '--username', 'bob', '--password', 'long-enough', '--database', db]);
    const badUri = await runCli(['apps', 'create', '--owner', 'bob', '--name', 'X', '--redirect-uri', 'javascript:alert(1)', '--database', db]);
    assert.equal(badUri.code, 2);
    assert.match(badUri.stderr, /javascript: scheme/);
    const taken = await runCli(['users', 'create', '--username', 'BOB', '--password', 'long-enough', '--database', db]);
    assert.equal(taken.code, 2);
    assert.match(taken.stderr, /taken/);
  });

  it('migrate is idempotent', async () => {
    const db = fresh();
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['migrate', '--database', db]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /up to date/);
    }
  });

  it('serve checks its configuration at start-up', async () => {
    const r = await runCli(['serve', '--web-port', '99999', '--database', fresh()]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /web port .* 0 to 65535/);
    const s = await runCli(['serve', '--secret', 'short', '--database', fresh()]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /at least 32 characters/);
  });

  it('serve creates the demo user and apps on first start, prints them, and they work', async () => {
    const db = fresh();
    const [web, api] = [await freePort(), await freePort()];
    const { child, output } = await startCli(['serve', '--database', db, '--web-port', String(web), '--api-port', String(api)], /api origin on/);
    try {
      const out = output();
      assert.match(out, /user: +demo \/ demo-password/);
      const clientId = /confidential app: +client_id=([0-9a-f]{64})/.exec(out)![1]!;
      assert.match(out, /client_secret=[0-9a-f]{64}/);
      assert.match(out, /public app \(PKCE\): client_id=[0-9a-f]{64}/);
      const url = /try it: +(\S+)/.exec(out)![1]!;
      assert.ok(url.startsWith(`http://127.0.0.1:${web}/oauth/authorize?response_type=code&client_id=${clientId}`), url);
      const page = await fetch(url, { redirect: 'manual' });
      assert.equal(page.status, 303, 'the authorize URL works (sign-in first)');
      assert.equal((await fetch(`http://127.0.0.1:${api}/users/settings?client_id=${clientId}`)).status, 401);
    } finally {
      assert.equal(await stopChild(child), 0, 'SIGTERM shuts down cleanly');
    }
    // Second start: no new demo data.
    const again = await startCli(['serve', '--database', db, '--web-port', String(web), '--api-port', String(api)], /api origin on/);
    try {
      assert.doesNotMatch(again.output(), /demo account/);
    } finally {
      await stopChild(again.child);
    }
  });
});
