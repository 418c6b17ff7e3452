/**
 * Rate limits with several instances: with a Redis URL configured, two keyfob servers on
 * one PostgreSQL database enforce one limit together (reference §10.4: 10 GET/s and
 * 1 POST/s per token, sign-in guessing limits); without Redis each process counts alone.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { issueV1Token } from '../../src/oauth/grants/v1-token.js';
import { SIGNIN_MAX_FAILURES_PER_ACCOUNT } from '../../src/web/routes/account.js';
import { getSettings } from '../helpers/flows.js';
import { ManualClock, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { dropSchema, freshSchemaUrl } from '../helpers/postgres.js';
import { dropRedisPrefix, freshRedisPrefix, TEST_REDIS_URL } from '../helpers/redis.js';
import { WebAgent } from '../helpers/web-agent.js';

async function tokenFor(kf: TestKeyfob, fx: Fixture): Promise<string> {
  const { token } = await issueV1Token(kf.server.services, {
    userId: fx.userId,
    appId: fx.confidential.appId,
    flow: 'code',
    meta: { appName: null, appVersion: null, userAgent: null },
  });
  return token;
}

async function failSignIn(agent: WebAgent, webUrl: string, username: string, password: string): Promise<number> {
  const { csrf } = await agent.page(`${webUrl}/signin`);
  const res = await agent.post(`${webUrl}/signin`, { _csrf: csrf, username, password, next: '/' });
  await res.text();
  return res.status;
}

describe('rate limits across instances', () => {
  const database = freshSchemaUrl('limits');
  const prefix = freshRedisPrefix('limits');
  const servers: TestKeyfob[] = [];
  after(async () => {
    for (const s of servers) await s.close();
    await dropSchema(database);
    await dropRedisPrefix(prefix);
  });

  describe('with Redis', () => {
    let a: TestKeyfob;
    let b: TestKeyfob;
    let fx: Fixture;
    before(async () => {
      const env = { KEYFOB_REDIS_URL: TEST_REDIS_URL, KEYFOB_REDIS_PREFIX: prefix };
      a = await startKeyfob({ database, env });
      b = await startKeyfob({ database, env });
      servers.push(a, b);
      fx = await seedFixture(a);
    });

    it('10 GET/s per token hold across both instances: the 11th GET answers 429 rate_limit', async () => {
      const token = await tokenFor(a, fx);
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const res = await getSettings(i % 2 ? b : a, token, fx.confidential.clientId);
        await res.text();
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, Array(10).fill(200));
      const res = await getSettings(b, token, fx.confidential.clientId);
      assert.equal(res.status, 429);
      assert.equal(res.headers.get('retry-after'), '1');
      assert.deepEqual(await res.json(), { error: 'rate_limit', code: 429, message: 'Too many requests' });
    });

    it('1 POST/s per token holds across both instances', async () => {
      const token = await tokenFor(a, fx);
      const first = await getSettings(a, token, fx.confidential.clientId, 'POST');
      assert.equal(first.status, 200);
      await first.text();
      const second = await getSettings(b, token, fx.confidential.clientId, 'POST');
      assert.equal(second.status, 429);
      assert.deepEqual(await second.json(), { error: 'rate_limit', code: 429, message: 'Too many requests' });
    });

    it('failed sign-ins are counted together: after 10 spread over both, the right password is refused with 429', async () => {
      const agent = new WebAgent(a.webUrl);
      for (let i = 0; i < SIGNIN_MAX_FAILURES_PER_ACCOUNT; i++) {
        assert.equal(await failSignIn(agent, (i % 2 ? b : a).webUrl, fx.username, 'wrong password'), 401);
      }
      assert.equal(await failSignIn(agent, b.webUrl, fx.username, fx.password), 429);
      assert.equal(await failSignIn(agent, a.webUrl, fx.username, fx.password), 429);
    });
  });

  describe('without Redis', () => {
    let c: TestKeyfob;
    let d: TestKeyfob;
    let fx: Fixture;
    before(async () => {
      // A still clock per process makes the per-second windows deterministic.
      c = await startKeyfob({ database, clock: new ManualClock() });
      d = await startKeyfob({ database, clock: new ManualClock() });
      servers.push(c, d);
      fx = await seedFixture(c);
    });

    it('each process counts alone: 10 GETs on each pass, the 11th on one answers 429', async () => {
      const token = await tokenFor(c, fx);
      for (const kf of [c, d]) {
        for (let i = 0; i < 10; i++) {
          const res = await getSettings(kf, token, fx.confidential.clientId);
          await res.text();
          assert.equal(res.status, 200);
        }
      }
      const res = await getSettings(c, token, fx.confidential.clientId);
      assert.equal(res.status, 429);
      assert.deepEqual(await res.json(), { error: 'rate_limit', code: 429, message: 'Too many requests' });
    });

    it('failed sign-ins on one process do not lock the account on another', async () => {
      const agent = new WebAgent(c.webUrl);
      for (let i = 0; i < SIGNIN_MAX_FAILURES_PER_ACCOUNT; i++) assert.equal(await failSignIn(agent, c.webUrl, fx.username, 'wrong password'), 401);
      assert.equal(await failSignIn(agent, c.webUrl, fx.username, fx.password), 429);
      assert.equal(await failSignIn(agent, d.webUrl, fx.username, fx.password), 303);
    });
  });
});
