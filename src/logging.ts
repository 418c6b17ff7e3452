import type { FastifyServerOptions } from 'fastify';
import type { Config } from './config/config.js';

/**
 * Paths that carry secrets in the path itself (PIN user codes), reduced to their route shape.
 * Query strings are dropped from every logged URL: they can carry codes, states and client secrets.
 */
export function safeUrl(url: string): string {
  const path = url.split('?', 1)[0]!;
  return path.replace(/^(\/oauth\/pin\/|\/pin\/)[^/]+/, '$1:user_code');
}

/**
 * Fastify logger options: secrets, codes, tokens and passwords never reach a log line
 * (SECURITY.md). Request logs carry method, path without query, and status; headers
 * and bodies are never logged.
 */
export function loggerOptions(config: Pick<Config, 'logLevel'>): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie', '*.password', '*.client_secret', '*.code', '*.access_token', '*.code_verifier'],
      censor: '[redacted]',
    },
    serializers: {
      req(req: { method: string; url: string; ip?: string }) {
        return { method: req.method, url: safeUrl(req.url), ip: req.ip };
      },
      res(res: { statusCode: number }) {
        return { statusCode: res.statusCode };
      },
    },
  };
}
