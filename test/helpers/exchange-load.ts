import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { callbackParams, WebAgent } from './web-agent.js';

export interface ExchangeLoad {
  /** user -> the token that user's client received (the same-token rule is asserted on every answer). */
  issued: Map<string, string>;
  /** code -> how many exchanges of it answered 200. */
  redeemed: Map<string, number>;
  /** Resolves once at least `count` users hold a token, or the time is up. */
  waitForTokens(count: number, timeoutMs: number): Promise<void>;
  /** Stops the workers; connection errors after the server died are expected and ignored. */
  stop(): Promise<void>;
  /** Lets the load run until most users hold a token, then kill -9s the server mid-stream and stops the load. */
  killServerMidStream(server: ChildProcess, timeoutMs: number): Promise<void>;
  /** Asserts every token a client received answers /users/settings with 200 on `apiUrl`. */
  assertTokensWork(apiUrl: string): Promise<void>;
}

/**
 * A steady load of approvals and code exchanges, one scripted browser per user, for
 * the fault tests: it records what every client was given, so a test can check after a
 * crash that nothing given was lost and no code was redeemed twice.
 */
export async function startExchangeLoad(opts: {
  webUrl: string;
  apiUrl: string;
  users: string[];
  password: string;
  client: { client_id: string; client_secret: string };
  redirectUri: string;
}): Promise<ExchangeLoad> {
  const issued = new Map<string, string>();
  const redeemed = new Map<string, number>();
  let stopped = false;
  // Sign everyone in first (Argon2id is slow on purpose), then start the load.
  const agents = await Promise.all(
    opts.users.map(async (user) => {
      const agent = new WebAgent(opts.webUrl);
      await agent.signIn(user, opts.password);
      return { user, agent };
    }),
  );
  const worker = async ({ user, agent }: { user: string; agent: WebAgent }) => {
    while (!stopped) {
      try {
        const q = new URLSearchParams({ response_type: 'code', client_id: opts.client.client_id, redirect_uri: opts.redirectUri });
        const consent = await agent.answerConsent(`${opts.webUrl}/oauth/authorize?${q}`, 'approve');
        const code = callbackParams(consent).get('code')!;
        const res = await fetch(`${opts.apiUrl}/oauth/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ grant_type: 'authorization_code', code, ...opts.client, redirect_uri: opts.redirectUri }),
        });
        if (res.status === 200) {
          const { access_token } = (await res.json()) as { access_token: string };
          redeemed.set(code, (redeemed.get(code) ?? 0) + 1);
          const before = issued.get(user);
          if (before) assert.equal(access_token, before, 'same-token rule holds under load');
          issued.set(user, access_token);
        } else {
          await res.text();
        }
      } catch (err) {
        if (err instanceof assert.AssertionError) throw err;
        // The process was killed under us: connection errors are expected here.
        if (stopped) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  };
  const workers = agents.map((a) => worker(a));
  const load: ExchangeLoad = {
    issued,
    redeemed,
    async waitForTokens(count, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      while (issued.size < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
    },
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
    async killServerMidStream(server, timeoutMs) {
      await load.waitForTokens(opts.users.length - 2, timeoutMs);
      await new Promise((r) => setTimeout(r, 200));
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGKILL');
      await exited;
      await load.stop();
      assert.ok(issued.size > 0, 'some tokens were issued before the crash');
    },
    async assertTokensWork(apiUrl) {
      for (const [user, token] of issued) {
        const res = await fetch(`${apiUrl}/users/settings?client_id=${opts.client.client_id}`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(res.status, 200, `the token ${user} received still works after the crash`);
        await res.text();
      }
      for (const [, n] of redeemed) assert.equal(n, 1, 'no code was redeemed twice');
    },
  };
  return load;
}
