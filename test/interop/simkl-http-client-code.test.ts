import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SimklClient } from '@dvcol/simkl-http-client';
import { simklApi } from '@dvcol/simkl-http-client/api';
import { REDIRECT_URI, type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/**
 * @dvcol/simkl-http-client (reference §13) against keyfob: the authorization code flow
 * with its JSON token body, then /users/settings. The only change is the base URL: the
 * api endpoint setting, and the web origin in place of https://simkl.com, which the
 * library hard-codes for the authorize page.
 */
describe('@dvcol/simkl-http-client: authorization code flow', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;
  before(async () => {
    ({ kf, fx, agent } = await startSignedIn({ env: { KEYFOB_RATE_LIMITS: 'false' } }));
  });
  after(async () => kf.close());

  /** The library as its users configure it; only the API base URL points at keyfob. */
  const newClient = () =>
    new SimklClient(
      {
        client_id: fx.confidential.clientId,
        client_secret: fx.confidential.clientSecret,
        redirect_uri: REDIRECT_URI,
        endpoint: kf.apiUrl,
        useragent: 'keyfob-interop/1.0',
      },
      {},
      simklApi,
    );

  it('authorizes, exchanges the code with a JSON body and reads the settings', async () => {
    const client = newClient();
    const simklUrl = new URL(client.resolveAuthorizeUrl());
    assert.equal(simklUrl.origin, 'https://simkl.com');
    const url = `${kf.webUrl}${simklUrl.pathname}${simklUrl.search}`;
    const state = simklUrl.searchParams.get('state')!;
    const consent = await agent.answerConsent(url, 'approve');
    const callback = new URL(consent.headers.get('location')!);
    assert.equal(callback.searchParams.get('state'), state);
    const auth = await client.exchangeCodeForToken({ code: callback.searchParams.get('code')! }, state);
    assert.match(auth.access_token ?? '', /^[0-9a-f]{64}$/);
    const raw = auth as unknown as { token_type: string; scope: string };
    assert.equal(raw.token_type, 'bearer');
    assert.equal(raw.scope, 'public');
    const res = await client.user.settings();
    const settings = (await res.json()) as { account: { id: number }; user: { name: string } };
    assert.equal(settings.account.id, fx.userId);
    assert.equal(settings.user.name, fx.username);
  });

  it('surfaces a reused code as the server\'s 401', async () => {
    const client = newClient();
    const simklUrl = new URL(client.resolveAuthorizeUrl());
    const consent = await agent.answerConsent(`${kf.webUrl}${simklUrl.pathname}${simklUrl.search}`, 'approve');
    const code = new URL(consent.headers.get('location')!).searchParams.get('code')!;
    await client.exchangeCodeForToken({ code });
    // The library maps a 401 to its unauthorized error (reference §13).
    await assert.rejects(client.exchangeCodeForToken({ code }), (err: unknown) => {
      assert.equal((err as Error).name, 'SimklUnauthorizedError');
      return true;
    });
  });
});
