import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { App } from '../../src/storage/storage.js';
import { startKeyfob, type TestKeyfob } from '../helpers/keyfob.js';

/**
 * Above info the api origin runs without a Fastify logger (it would cost every call a child
 * logger and response listeners; bench/README.md). A failed request must still be logged,
 * with its request id, and an ordinary one must write nothing.
 */
for (const level of ['warn', 'info'] as const) {
  describe(`api origin at log level ${level}: a failed request is logged, with its request id`, () => {
    let kf: TestKeyfob;
    const lines: Array<Record<string, unknown>> = [];
    before(async () => {
      const stream = new PassThrough();
      stream.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      });
      kf = await startKeyfob({ env: { KEYFOB_LOG_LEVEL: level }, logStream: stream });
      // A storage fault on one lookup: the api must answer the envelope's 500 and log it.
      const storage = kf.storage as { findAppByClientId: (clientId: string) => App | null | Promise<App | null> };
      const real = storage.findAppByClientId.bind(kf.storage);
      storage.findAppByClientId = (clientId: string) => {
        if (clientId === 'faulty') throw new Error('disk on fire');
        return real(clientId);
      };
    });
    after(async () => kf.close());

    it('answers 500 internal and writes one error line with the request id and no secret', async () => {
      const before = lines.length;
      const res = await fetch(`${kf.apiUrl}/oauth/pin?client_id=faulty`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'internal', code: 500, message: 'Internal error' });
      await new Promise((resolve) => setTimeout(resolve, 50));
      const errors = lines.slice(before).filter((l) => l.msg === 'request failed');
      assert.equal(errors.length, 1);
      assert.equal(errors[0]!.level, 50);
      assert.ok(errors[0]!.reqId !== undefined, 'the line names the request');
      assert.match(JSON.stringify(errors[0]!.err), /disk on fire/);
      const urls = lines.slice(before).flatMap((l) => ((l.req as { url?: string } | undefined)?.url ? [(l.req as { url: string }).url] : []));
      assert.ok(urls.length > 0 && urls.every((u) => u === '/oauth/pin'), `the request is named, without its query string: ${urls.join(', ')}`);
    });

    it(level === 'warn' ? 'writes nothing for an ordinary request' : 'writes the request lines for an ordinary request', async () => {
      const before = lines.length;
      const res = await fetch(`${kf.apiUrl}/users/settings?client_id=nobody`);
      assert.equal(res.status, 412);
      await new Promise((resolve) => setTimeout(resolve, 50));
      const written = lines.slice(before);
      if (level === 'warn') assert.deepEqual(written, []);
      else assert.ok(written.some((l) => l.msg === 'request completed'));
    });
  });
}
