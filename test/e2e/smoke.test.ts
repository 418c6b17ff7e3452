import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { approveAndGetCode, getSettings, postToken } from '../helpers/flows.js';
import { REDIRECT_URI, seedFixture, startKeyfob, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';

describe('authorization code flow, end to end', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  before(async () => {
    kf = await startKeyfob();
    fx = await seedFixture(kf);
  });
  after(async () => kf.close());

  it('signs in, approves, exchanges the code and calls /users/settings', async () => {
    const code = await approveAndGetCode(kf, fx, { client_id: fx.confidential.clientId, state: 'xyz' });
    const res = await postToken(kf, {
      grant_type: 'authorization_code',
      code,
      client_id: fx.confidential.clientId,
      client_secret: fx.confidential.clientSecret,
      redirect_uri: REDIRECT_URI,
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
    assert.match(String(body.access_token), /^[0-9a-f]{64}$/);
    const settings = await getSettings(kf, String(body.access_token), fx.confidential.clientId);
    assert.equal(settings.status, 200);
    const s = (await settings.json()) as { user: { name: string }; account: { id: number } };
    assert.equal(s.user.name, fx.username);
    assert.equal(s.account.id, fx.userId);
  });
});
