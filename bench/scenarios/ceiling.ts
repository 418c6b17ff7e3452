/** The ceiling: the same request as token validation, answered by a bare Fastify server. */
import { join } from 'node:path';
import { measure, warmup } from '../load.js';
import { startPinned } from '../proc.js';
import type { ScenarioResult } from './types.js';
import { settingsRequest } from './token-validation.js';

/**
 * `cors`: the same server sending the two CORS headers §2.3 asks of every api answer, for
 * scale: what the reference's answer shape alone costs, before any of keyfob's work.
 */
export async function runCeiling(root: string, core: number, seconds: number, opts: { cors?: boolean } = {}): Promise<ScenarioResult> {
  const child = await startPinned(['--import', 'tsx', join(root, 'bench/ceiling-server.ts')], {
    core,
    cwd: root,
    ready: /^listening \d+/m,
    env: { ...process.env, CEILING_CORS: opts.cors ? '1' : '0' },
  });
  try {
    const port = /^listening (\d+)/m.exec(child.output())![1]!;
    const req = settingsRequest(`http://127.0.0.1:${port}`, '0'.repeat(64), 'f'.repeat(64));
    await warmup(req);
    const m = await measure(child.pid, { ...req, duration: seconds });
    return {
      id: opts.cors ? 'ceiling-cors' : 'ceiling',
      title: opts.cors ? 'ceiling + the §2.3 CORS headers (for scale)' : 'bare Fastify, fixed JSON body',
      unit: 'request',
      available: true,
      measurement: m,
      checks: [{ what: 'every call answered 200', passed: m.failed === 0 && m.ok > 0 }],
    };
  } finally {
    await child.stop();
  }
}
