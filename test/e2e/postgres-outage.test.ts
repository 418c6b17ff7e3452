/**
 * When PostgreSQL cannot be reached both origins answer 503 (api: the reference's
 * envelope; web: the error page), and they recover on their own once it is back: no
 * restart. The outage is played by cutting a TCP relay in front of the real database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueV1Token } from '../../src/oauth/grants/v1-token.js';
import { getSettings } from '../helpers/flows.js';
import { seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { dropSchema, freshSchemaUrl, TEST_PG_URL } from '../helpers/postgres.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { WebAgent } from '../helpers/web-agent.js';

describe('PostgreSQL outage', () => {
  const direct = freshSchemaUrl('outage');
  const target = new URL(TEST_PG_URL);
  const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
  let kf: TestKeyfob;
  let fx: Fixture;
  let token: string;
  let agent: WebAgent;

  before(async () => {
    const port = await proxy.start();
    const viaProxy = new URL(direct);
    viaProxy.port = String(port);
    kf = await startKeyfob({ database: viaProxy.toString() });
    fx = await seedFixture(kf);
    token = (await issueV1Token(kf.server.services, { userId: fx.userId, appId: fx.confidential.appId, flow: 'code', meta: { appName: null, appVersion: null, userAgent: null } }))
      .token;
    agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
  });
  after(async () => {
    await proxy.start().catch(() => undefined);
    await kf?.close();
    await proxy.cut();
    await dropSchema(direct);
  });

  it('answers 503 while the database is away and 200 again once it is back', async () => {
    const ok = await getSettings(kf, token, fx.confidential.clientId);
    assert.equal(ok.status, 200);
    await ok.text();

    await proxy.cut();
    const down = await getSettings(kf, token, fx.confidential.clientId);
    assert.equal(down.status, 503);
    assert.equal(down.headers.get('retry-after'), '5');
    assert.deepEqual(await down.json(), { error: 'service_unavailable', code: 503, message: 'Storage is unavailable, try again shortly' });

    const page = await agent.get('/', { accept: 'text/html' });
    assert.equal(page.status, 503);
    assert.match(await page.text(), /cannot reach its database/);

    await proxy.start();
    const back = await getSettings(kf, token, fx.confidential.clientId);
    assert.equal(back.status, 200);
    assert.equal(((await back.json()) as { account: { id: number } }).account.id, fx.userId);
    const home = await agent.get('/');
    assert.equal(home.status, 200);
    assert.match(await home.text(), new RegExp(fx.username));
  });
});
