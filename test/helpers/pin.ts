import { decodeEntities, WebAgent } from './web-agent.js';
import type { TestKeyfob } from './keyfob.js';

export interface PinInit {
  result: string;
  device_code: string;
  user_code: string;
  verification_uri: string;
  verification_url: string;
  expires_in: number;
  interval: number;
}

/** GET /oauth/pin with client_id in the query (or, with header: true, as simkl-api-key). */
export async function requestPin(kf: TestKeyfob, clientId: string, extra: Record<string, string> = {}, opts: { header?: boolean } = {}): Promise<Response> {
  const q = new URLSearchParams(opts.header ? extra : { client_id: clientId, ...extra });
  return fetch(`${kf.apiUrl}/oauth/pin?${q.toString()}`, { headers: opts.header ? { 'simkl-api-key': clientId } : {} });
}

export async function startPinOk(kf: TestKeyfob, clientId: string, extra: Record<string, string> = {}): Promise<PinInit> {
  const res = await requestPin(kf, clientId, extra);
  if (res.status !== 200) throw new Error(`GET /oauth/pin answered ${res.status}: ${await res.text()}`);
  return (await res.json()) as PinInit;
}

export async function pollPin(kf: TestKeyfob, clientId: string, userCode: string): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${kf.apiUrl}/oauth/pin/${encodeURIComponent(userCode)}?client_id=${clientId}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** The hidden fields of the /pin/confirm form on a confirm page. */
export function confirmFields(html: string): Record<string, string> {
  const start = html.indexOf('<form method="post" action="/pin/confirm"');
  if (start === -1) return {};
  const scope = html.slice(start, html.indexOf('</form>', start));
  const out: Record<string, string> = {};
  for (const m of scope.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) out[decodeEntities(m[1]!)] = decodeEntities(m[2]!);
  return out;
}

/** Types a code on /pin (signed in): the response to the entry POST and its page. */
export async function enterCode(agent: WebAgent, typed: string): Promise<{ res: Response; html: string }> {
  const { csrf } = await agent.page('/pin');
  const res = await agent.post('/pin', { _csrf: csrf, user_code: typed });
  return { res, html: await res.text() };
}

/** Types a code and answers the confirm page; returns the decision response. */
export async function answerPin(agent: WebAgent, typed: string, decision: 'approve' | 'deny'): Promise<Response> {
  const { res, html } = await enterCode(agent, typed);
  if (res.status !== 200) throw new Error(`/pin answered ${res.status}: ${html.slice(0, 400)}`);
  return agent.post('/pin/confirm', { ...confirmFields(html), decision });
}
