import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { simklApi } from '@dvcol/simkl-http-client/api';
import { SimklClient } from '@dvcol/simkl-http-client';
import { seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';

/**
 * The TypeScript Simkl client from npm (reference §13), unchanged apart from its base URL,
 * runs a whole PIN login against keyfob over real HTTP: getDeviceCode, then
 * pollWithDeviceCode on its own setInterval(interval × 1000), while a person approves
 * the code on /pin. It treats any KO message other than "Authorization pending" as fatal,
 * so this also proves keyfob never says "Slow down" to a client polling every 5 s.
 * Real clock: the client polls every 5 seconds, so this test takes about 10.
 */
describe('@dvcol/simkl-http-client PIN login', () => {
  let kf: TestKeyfob;
  let fx: Fixture;

  before(async () => {
    kf = await startKeyfob();
    fx = await seedFixture(kf);
  });
  after(async () => kf.close());

  const newClient = (clientId: string) =>
    new SimklClient({ client_id: clientId, client_secret: '', redirect_uri: '', useragent: 'keyfob-interop/1.0', endpoint: kf.apiUrl }, {}, simklApi);

  it('gets a device code, polls until approved, and the token works on /users/settings', { timeout: 30_000 }, async () => {
    const client = newClient(fx.public.clientId);
    const poll = await client.getDeviceCode();
    assert.equal(poll.device_code, 'DEVICE_CODE');
    assert.match(poll.user_code, /^[23456789ABCDEFGHJKMNPQRSTVWXYZ]{5}$/);
    assert.equal(poll.verification_url, `${kf.webUrl}/pin`);
    assert.equal(poll.expires_in, 900);
    assert.equal(poll.interval, 5);

    const polling = client.pollWithDeviceCode(poll);
    // Approve only after the client has polled once and been told to keep waiting.
    for (let i = 0; i < 200 && (await kf.storage.findPin(poll.user_code))?.lastPolledAt == null; i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.notEqual((await kf.storage.findPin(poll.user_code))?.lastPolledAt, null, 'the client never polled');

    const agent = new WebAgent(kf.webUrl);
    await agent.signIn(fx.username, fx.password);
    assert.equal((await answerPin(agent, poll.user_code, 'approve')).status, 200);

    const auth = await polling;
    assert.match(String(auth.access_token), /^[0-9a-f]{64}$/);
    assert.equal(await kf.storage.findPin(poll.user_code), null, 'the code is gone once collected');

    const settings = await client.user.settings();
    assert.equal(settings.status, 200);
    const body = (await settings.json()) as { user: { name: string }; account: { id: number } };
    assert.equal(body.account.id, fx.userId);
    assert.equal(body.user.name, fx.username);
  });

  it('passes a registered redirect through getDeviceCode, and surfaces a 403 for an unregistered one', async () => {
    const client = newClient(fx.public.clientId);
    const poll = await client.getDeviceCode('http://127.0.0.1:8765/callback');
    assert.equal((await kf.storage.findPin(poll.user_code))?.redirect, 'http://127.0.0.1:8765/callback');
    await assert.rejects(client.getDeviceCode('https://evil.example/'), (err: unknown) => {
      assert.equal((err as { error?: Response }).error?.status, 403);
      return true;
    });
  });

  it('surfaces 412 for an unknown client_id', async () => {
    await assert.rejects(newClient('unknown-client').getDeviceCode(), (err: unknown) => {
      assert.equal((err as { error?: Response }).error?.status, 412);
      return true;
    });
  });
});
