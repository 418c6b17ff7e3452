/**
 * Every API request validates a bearer token: GET /users/settings (reference §9.3) with a
 * valid token, the same request the ceiling answers.
 */
import { measure, warmup } from '../load.js';
import { clientQuery, USER_AGENT, type ScenarioContext, type ScenarioResult } from './types.js';

export function settingsRequest(baseUrl: string, clientId: string, token: string) {
  return {
    url: `${baseUrl}/users/settings?${clientQuery(clientId)}`,
    headers: { authorization: `Bearer ${token}`, 'user-agent': USER_AGENT },
  };
}

export async function runTokenValidation(ctx: ScenarioContext, seconds: number): Promise<ScenarioResult> {
  const req = settingsRequest(ctx.kf.apiUrl, ctx.fixture.clientId, ctx.fixture.token);
  const res = await fetch(req.url, { headers: req.headers });
  const body = (await res.json()) as { account?: { id?: number } };
  const checks = [{ what: 'a single call answers 200 with the account id', passed: res.status === 200 && body.account?.id === ctx.fixture.userId }];
  await warmup(req);
  const m = await measure(ctx.kf.pid, { ...req, duration: seconds }, undefined, ctx.pair);
  checks.push({ what: 'every call under load answered 200', passed: m.failed === 0 && m.ok > 0 });
  return { id: 'token-validation', title: 'GET /users/settings (valid token)', unit: 'request', available: true, measurement: m, checks };
}
