import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyBaseLogger } from 'fastify';
import pino from 'pino';
import { loggerOptions } from '../../src/logging.js';
import { childLoggerFactory } from '../../src/request-logger.js';

/** A pino logger with keyfob's options writing into an array. */
function capture(level: 'warn' | 'info') {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) };
  const logger = pino(loggerOptions({ logLevel: level }) as pino.LoggerOptions, stream) as unknown as FastifyBaseLogger;
  return { logger, lines };
}

describe('per-request loggers at warn and above', () => {
  it('at info and below, Fastify keeps its own child logger', () => {
    assert.equal(childLoggerFactory('info'), undefined);
    assert.equal(childLoggerFactory('debug'), undefined);
  });

  it('a request logger writes errors with the request id and nothing below the level', () => {
    const { logger, lines } = capture('warn');
    const factory = childLoggerFactory('warn')!;
    const child = factory.call(undefined as never, logger, { reqId: 'req-7' }, {}, undefined as never);
    child.info({ req: { method: 'GET', url: '/x' } }, 'incoming request');
    child.debug('detail');
    assert.equal(lines.length, 0);
    child.error({ err: new Error('boom') }, 'request failed');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.reqId, 'req-7');
    assert.equal(lines[0]!.msg, 'request failed');
    assert.equal(lines[0]!.level, 50);
  });

  it('keeps redaction: a logged authorization header is censored', () => {
    const { logger, lines } = capture('warn');
    const child = childLoggerFactory('warn')!.call(undefined as never, logger, { reqId: 'req-8' }, {}, undefined as never);
    child.warn({ headers: { authorization: 'Bearer 0123456789abcdef' } }, 'odd request');
    assert.equal(lines.length, 1);
    assert.deepEqual(lines[0]!.headers, { authorization: '[redacted]' });
  });

  it('a route with its own level gets a real child at once', () => {
    const { logger, lines } = capture('warn');
    const child = childLoggerFactory('warn')!.call(undefined as never, logger, { reqId: 'req-9' }, { level: 'info' }, undefined as never);
    child.info('route-level info');
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.reqId, 'req-9');
  });
});
