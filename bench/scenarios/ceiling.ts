/** The ceiling: the same request as token validation, answered by a bare Fastify server. */
import { join } from 'node:path';
import { measure, warmup, type PairedCeiling } from '../load.js';
import { startPinned, type Child } from '../proc.js';
import { formTokenRequest } from './code-exchange.js';
import type { ScenarioResult } from './types.js';
import { settingsRequest } from './token-validation.js';

/** The rows this file measures: the ceiling, and two for scale (no target). */
export type CeilingShape = 'bare' | 'cors' | 'post';

const ROWS: Record<CeilingShape, Pick<ScenarioResult, 'id' | 'title'>> = {
  bare: { id: 'ceiling', title: 'bare Fastify, fixed JSON body' },
  cors: { id: 'ceiling-cors', title: 'ceiling + the §2.3 CORS headers (for scale)' },
  post: { id: 'ceiling-post', title: 'ceiling, POST shape: form body, CORS, no-store (for scale)' },
};

/** A ceiling server running, and the request it is loaded with. */
export interface CeilingServer extends PairedCeiling {
  child: Child;
}

/** Starts the ceiling server of this shape, pinned to `core`, warmed up. */
export async function startCeiling(root: string, core: number, shape: CeilingShape = 'bare'): Promise<CeilingServer> {
  const child = await startPinned(['--import', 'tsx', join(root, 'bench/ceiling-server.ts')], {
    core,
    cwd: root,
    ready: /^listening \d+/m,
    env: { ...process.env, CEILING_CORS: shape === 'bare' ? '0' : '1', CEILING_POST: shape === 'post' ? '1' : '0' },
  });
  const url = `http://127.0.0.1:${/^listening (\d+)/m.exec(child.output())![1]!}`;
  // A fresh code per POST, as long as an issued one (43 characters), made as cheaply as
  // the load generator can: its own cost bounds this row's requests per second.
  let n = 0;
  const request =
    shape === 'post'
      ? { url, requests: [formTokenRequest('0'.repeat(64), 'f'.repeat(64), () => String(n++).padStart(43, '0'))] }
      : settingsRequest(url, '0'.repeat(64), 'f'.repeat(64));
  try {
    await warmup(request);
  } catch (err) {
    await child.stop();
    throw err;
  }
  return { child, pid: child.pid, request };
}

/**
 * `cors`: the same server sending the two CORS headers §2.3 asks of every api answer, for
 * scale: what the reference's answer shape alone costs, before any of keyfob's work.
 * `post`: the same with a code exchange's request (a form body, a fresh code in each) and
 * a token answer's shape (no-store headers, the token body): what the exchange's shape
 * alone costs.
 */
export async function runCeiling(root: string, core: number, seconds: number, shape: CeilingShape = 'bare', pair?: PairedCeiling): Promise<ScenarioResult> {
  const server = await startCeiling(root, core, shape);
  try {
    const m = await measure(server.pid, { ...server.request, duration: seconds }, undefined, pair);
    return {
      ...ROWS[shape],
      unit: 'request',
      available: true,
      measurement: m,
      checks: [{ what: 'every call answered 200', passed: m.failed === 0 && m.ok > 0 }],
    };
  } finally {
    await server.child.stop();
  }
}
