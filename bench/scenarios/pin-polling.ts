/**
 * Media-center plugins poll their PIN every 5 seconds: GET /oauth/pin/{user_code}
 * (reference §7.2) on pending codes. A code polled faster than once a second may be told
 * to slow down, so the load walks round-robin over many distinct pending codes, each
 * polled at most once per pass, and a pass takes longer than a second.
 *
 * The same run measures what 100,000 pending PINs cost in the server process: resident
 * memory before the PINs exist, and after they were all created and polled.
 */
import { CONNECTIONS, measure, SLICE_S } from '../load.js';
import { rssBytes } from '../proc.js';
import { createPendingPins } from '../seed.js';
import { clientQuery, USER_AGENT, type ScenarioContext, type ScenarioResult } from './types.js';

export const PENDING_PINS = 100_000;
export const PENDING_BODY = '{"result":"KO","message":"Authorization pending"}';

export interface PinMemory {
  pins: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  /** Whether the server answered polls on them (false: stored only, the endpoint is missing). */
  polled: boolean;
}

/**
 * Distinct user codes of a given length. The alphabet is consonants without L (no
 * vowels, so no words; no 0/O, 1/I/L look-alikes), a subset of the user-code alphabets in
 * common use, keyfob's included.
 */
export function userCodes(n: number, length: number): string[] {
  const alphabet = 'BCDFGHJKMNPQRSTVWXZ';
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    let x = i * 7919 + 104_729; // spread, so codes do not share long prefixes
    let s = '';
    for (let k = 0; k < length; k++) {
      s += alphabet[x % alphabet.length];
      x = Math.floor(x / alphabet.length);
    }
    out.push(s);
  }
  return [...new Set(out)].slice(0, n);
}

export async function runPinPolling(ctx: ScenarioContext, seconds: number): Promise<{ results: ScenarioResult[]; memory: PinMemory }> {
  const base: ScenarioResult = { id: 'pin-polling', title: 'GET /oauth/pin/{user_code} (pending)', unit: 'request', available: false, checks: [] };
  const q = clientQuery(ctx.fixture.clientId);
  const rssBeforeBytes = rssBytes(ctx.kf.pid);

  // Ask for one PIN the ordinary way (§7.1), to learn whether the endpoint exists and how long codes are.
  const init = await fetch(`${ctx.kf.apiUrl}/oauth/pin?${q}`, { headers: { 'user-agent': USER_AGENT } });
  const initBody = (await init.json().catch(() => ({}))) as { user_code?: unknown };
  const sample = typeof initBody.user_code === 'string' ? initBody.user_code.replace(/[^A-Za-z0-9]/g, '') : '';
  const length = sample.length >= 4 && sample.length <= 12 ? sample.length : 5;

  const codes = userCodes(PENDING_PINS, length);
  const created = await createPendingPins(ctx.storage, ctx.fixture.appId, codes);
  const memoryStoredOnly = (): PinMemory => ({ pins: created, rssBeforeBytes, rssAfterBytes: rssBytes(ctx.kf.pid), polled: false });

  if (init.status === 404) {
    return { results: [{ ...base, note: 'not available: GET /oauth/pin answers 404 in this build' }], memory: memoryStoredOnly() };
  }
  // A stored PIN must read as pending (the last code: the round-robin reaches it last).
  const probeCode = codes[codes.length - 1]!;
  const probe = await fetch(`${ctx.kf.apiUrl}/oauth/pin/${probeCode}?${q}`, { headers: { 'user-agent': USER_AGENT } });
  const probeText = await probe.text();
  if (probe.status === 404) {
    return { results: [{ ...base, note: 'not available: GET /oauth/pin/{user_code} answers 404 in this build' }], memory: memoryStoredOnly() };
  }
  if (probe.status !== 200 || probeText !== PENDING_BODY) {
    return {
      results: [{ ...base, note: `not available: a stored pending PIN answered HTTP ${probe.status} ${probeText.slice(0, 120)}` }],
      memory: memoryStoredOnly(),
    };
  }

  let next = 0;
  const setupRequest = (req: object) => {
    const code = codes[next % codes.length]!;
    next += 1;
    return { ...req, path: `/oauth/pin/${code}?${q}` };
  };
  // First pass: every body is read, and the size in bytes of a pending answer is learnt
  // (autocannon hands the body to onResponse just before it reports the answer's size).
  let firstPending = 0;
  let firstOther = 0;
  let lastWasPending = false;
  const pendingSizes = new Set<number>();
  const firstPass = {
    url: ctx.kf.apiUrl,
    headers: { 'user-agent': USER_AGENT },
    requests: [
      {
        method: 'GET' as const,
        setupRequest,
        onResponse(status: number, body: string) {
          lastWasPending = status === 200 && body === PENDING_BODY;
          if (lastWasPending) firstPending += 1;
          else firstOther += 1;
        },
      },
    ],
  };
  // Pass 1, every code's first poll: a device's first answered poll is written to its row
  // (decision 0080), later ones are not. Measured and reported on its own row; it also
  // warms the server. A real device polls a pending code every 5 s for as long as its
  // person takes to approve (tens of polls), so the steady state measured next is what
  // dominates a deployment.
  const first = await measure(
    ctx.kf.pid,
    { ...firstPass, amount: codes.length, slices: Math.round(seconds / SLICE_S) },
    (status, bytes) => {
      if (status === 200 && lastWasPending) pendingSizes.add(bytes);
    },
    ctx.pair,
  );
  // Steady state: each connection polls its own share of the codes in turn, from requests
  // the load generator builds once (a request rebuilt per poll made the generator, not the
  // server, the limit); answers are told apart by their size, cheaper than reading every
  // body ("Slow down" and a fresh PIN differ in length).
  const pendingBytes = pendingSizes.size === 1 ? [...pendingSizes][0]! : -1;
  let pending = 0;
  let other = 0;
  const shares = Array.from({ length: CONNECTIONS }, (_, c) =>
    codes.filter((_, i) => i % CONNECTIONS === c).map((code) => ({ method: 'GET' as const, path: `/oauth/pin/${code}?${q}` })),
  );
  let nextShare = 0;
  const steady = {
    url: ctx.kf.apiUrl,
    headers: { 'user-agent': USER_AGENT },
    requests: shares[0]!.slice(0, 1),
    // A paired run starts new clients every slice: each takes up its share about where the
    // last slice left it, so the polls keep going round all the codes instead of starting
    // over on the same first few thousand (which would stay in the CPU's caches).
    setupClient(client: { setRequests(requests: object[]): void }) {
      const share = shares[nextShare++ % CONNECTIONS]!;
      const from = Math.floor((pending + other) / CONNECTIONS) % share.length;
      client.setRequests(from === 0 ? share : [...share.slice(from), ...share.slice(0, from)]);
    },
  };
  const m = await measure(
    ctx.kf.pid,
    { ...steady, duration: seconds },
    (status, bytes) => {
      if (status === 200 && bytes === pendingBytes) pending += 1;
      else other += 1;
    },
    ctx.pair,
  );
  const passSeconds = (codes.length / Math.max(m.rps, 1)).toFixed(1);
  const checks = [
    { what: `every pending answer is ${pendingBytes} bytes long (sizes seen: ${[...pendingSizes].join(', ')})`, passed: pendingSizes.size === 1 },
    { what: `${pending} polls answered "Authorization pending", ${other} answered something else`, passed: other === 0 && pending > 0 },
    { what: `${codes.length} distinct pending codes, one pass over them takes ${passSeconds} s (each code polled at most once a second)`, passed: codes.length / Math.max(m.rps, 1) >= 1 },
  ];
  // Only pending answers count as served.
  const served = { ...m, ok: pending, failed: m.failed + other, rps: pending / m.durationS, cpuUsPerOk: m.cpuUsPerOk * (m.ok / Math.max(pending, 1)) };
  const firstServed = {
    ...first,
    ok: firstPending,
    failed: first.failed + firstOther,
    rps: firstPending / first.durationS,
    cpuUsPerOk: first.cpuUsPerOk * (first.ok / Math.max(firstPending, 1)),
  };
  const firstResult: ScenarioResult = {
    id: 'pin-first-poll',
    title: 'GET /oauth/pin/{user_code} (first poll, written)',
    unit: 'request',
    available: true,
    measurement: firstServed,
    checks: [
      {
        what: `first pass: ${firstPending} of ${codes.length} first polls answered "Authorization pending", ${firstOther} something else`,
        passed: firstPending === codes.length && firstOther === 0,
      },
    ],
  };
  return {
    results: [firstResult, { ...base, available: true, measurement: served, checks }],
    memory: { pins: created, rssBeforeBytes, rssAfterBytes: rssBytes(ctx.kf.pid), polled: true },
  };
}
