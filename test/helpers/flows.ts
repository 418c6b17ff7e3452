import { callbackParams, WebAgent } from './web-agent.js';
import { REDIRECT_URI, type TestKeyfob } from './keyfob.js';

export function authorizeUrl(kf: TestKeyfob, params: Record<string, string>): string {
  return `${kf.webUrl}/oauth/authorize?${new URLSearchParams(params).toString()}`;
}

/** Signs in and approves a confidential-client authorize request; returns the code from the callback. */
export async function approveAndGetCode(
  kf: TestKeyfob,
  who: { username: string; password: string },
  params: Record<string, string>,
  agent?: WebAgent,
): Promise<string> {
  const a = agent ?? new WebAgent(kf.webUrl);
  if (!agent) await a.signIn(who.username, who.password);
  const res = await a.answerConsent(authorizeUrl(kf, { response_type: 'code', redirect_uri: REDIRECT_URI, ...params }), 'approve');
  const code = callbackParams(res).get('code');
  if (!code) throw new Error('no code in the callback');
  return code;
}

export async function postToken(kf: TestKeyfob, body: Record<string, string>, opts: { json?: boolean; headers?: Record<string, string> } = {}): Promise<Response> {
  return fetch(`${kf.apiUrl}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': opts.json ? 'application/json' : 'application/x-www-form-urlencoded', ...(opts.headers ?? {}) },
    body: opts.json ? JSON.stringify(body) : new URLSearchParams(body).toString(),
  });
}

export async function getSettings(kf: TestKeyfob, token: string, clientId: string, method: 'GET' | 'POST' = 'GET'): Promise<Response> {
  return fetch(`${kf.apiUrl}/users/settings?client_id=${clientId}`, { method, headers: { authorization: `Bearer ${token}` } });
}
