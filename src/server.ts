import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { AcceptedTokenDigests } from './api/accepted-token-digests.js';
import { apiFrameworkErrors } from './api/envelope.js';
import { registerApi } from './api/plugin.js';
import { startCleanupScheduler, type CleanupScheduler } from './cleanup-scheduler.js';
import type { Config } from './config/config.js';
import { loggerOptions } from './logging.js';
import { childLoggerFactory } from './request-logger.js';
import { MemoryRateLimiter, type RateLimiter } from './ratelimit/limiter.js';
import { RedisRateLimiter } from './ratelimit/redis-limiter.js';
import type { Services } from './services.js';
import type { Storage } from './storage/storage.js';
import { UsageRecorder } from './usage-recorder.js';
import { systemClock, type Clock } from './util/clock.js';
import { webFrameworkErrors } from './web/error-page.js';
import { registerWeb } from './web/plugin.js';

export interface KeyfobServer {
  web: FastifyInstance;
  api: FastifyInstance;
  services: Services;
  /** The periodic sweep of expired records (see cleanup-scheduler.ts). */
  cleanup: CleanupScheduler;
  /** Listens on the configured host and ports (0 = any free port); returns the bound URLs. */
  listen(): Promise<{ webUrl: string; apiUrl: string }>;
  close(): Promise<void>;
}

export interface BuildOptions {
  clock?: Clock;
  limiter?: RateLimiter;
  /** Pass false to silence request logs (tests). Defaults to the configured level. */
  logger?: boolean;
  /** Where log lines go (default stdout); tests capture them to prove no secret is logged. */
  logStream?: NodeJS.WritableStream;
}

/**
 * Builds both origins over one storage; never listens by itself (tests call listen()
 * on port 0 or use inject()). The storage is opened and migrated by the caller.
 */
export async function buildServer(config: Config, storage: Storage, opts: BuildOptions = {}): Promise<KeyfobServer> {
  const clock = opts.clock ?? systemClock;
  // One logger for both origins and keyfob's own lines (Redis, cleanup, failed requests).
  const log: FastifyBaseLogger | undefined = opts.logger === false ? undefined : pino(loggerOptions(config), opts.logStream ?? pino.destination(1));
  // Fastify writes request lines at info. Above info, the api origin runs without a Fastify
  // logger: with one, Fastify makes a child logger and adds response listeners for every
  // call whether or not a line is written, a tenth of a token check (bench/README.md).
  // Its failed requests are logged through `log` instead (apiErrorHandler).
  const requestLines = ['info', 'debug', 'trace'].includes(config.logLevel);
  const common = {
    trustProxy: config.trustProxy,
    return503OnClosing: true,
    forceCloseConnections: 'idle' as const,
    ...(log ? { loggerInstance: log, childLoggerFactory: childLoggerFactory(config.logLevel) } : { logger: false }),
    logController: new LogController({ disableRequestLogging: !requestLines }),
  };
  const web = Fastify({ ...common, bodyLimit: 64 * 1024, frameworkErrors: webFrameworkErrors });
  const api = Fastify({
    ...common,
    ...(requestLines ? {} : { loggerInstance: undefined, childLoggerFactory: undefined, logger: false }),
    bodyLimit: 16 * 1024,
    frameworkErrors: apiFrameworkErrors(config.apiUrl),
    // The api origin's few routes as generated code instead of a tree walk (Fastify's
    // documented routerOptions.compile): a walk calls one prefix matcher per static node,
    // each compiled on its own, nearly a fifth of a token check's extra instruction cache misses
    // (docs/decisions/0103).
    routerOptions: { compile: true },
  });
  // With a Redis URL the limits hold across every instance sharing it; without, per process.
  const limiter =
    opts.limiter ??
    (config.redisUrl
      ? await RedisRateLimiter.connect(config.redisUrl, {
          prefix: config.redisPrefix,
          now: () => clock.now(),
          onStateChange: (err) =>
            err
              ? log?.warn({ err: err.message }, 'Redis unreachable: rate limits are counted per instance until it is back')
              : log?.info('Redis reachable: rate limits are shared across instances'),
        })
      : new MemoryRateLimiter(() => clock.now()));
  const usage = new UsageRecorder(storage);
  const services: Services = { config, storage, clock, limiter, usage, acceptedTokens: new AcceptedTokenDigests(), secret: config.secret };
  services.log = log;
  await registerWeb(web, services);
  await registerApi(api, services, { ownLogger: requestLines });
  usage.start();
  const cleanup = startCleanupScheduler({ storage, clock, intervalMs: config.cleanupIntervalMs, log: () => services.log });

  return {
    web,
    api,
    services,
    cleanup,
    async listen() {
      const webAddr = await web.listen({ host: config.host, port: config.webPort });
      const apiAddr = await api.listen({ host: config.host, port: config.apiPort });
      return { webUrl: webAddr, apiUrl: apiAddr };
    },
    async close() {
      // In-flight requests finish; a keep-alive connection then closes as soon as its answer
      // is sent (and idle ones at once, forceCloseConnections), instead of idling for the
      // keep-alive timeout (72 s) while close() waits for every connection to end.
      for (const instance of [web, api]) instance.server.keepAliveTimeout = 1;
      await Promise.all([web.close(), api.close()]);
      await cleanup.stop();
      await usage.stop().catch(() => undefined);
      await limiter.close();
    },
  };
}
