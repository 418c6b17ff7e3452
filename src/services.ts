import type { FastifyBaseLogger } from 'fastify';
import type { AcceptedTokenDigests } from './api/accepted-token-digests.js';
import type { Config } from './config/config.js';
import type { ProtocolDeps } from './oauth/deps.js';
import type { RateLimiter } from './ratelimit/limiter.js';
import type { Storage } from './storage/storage.js';
import type { UsageRecorder } from './usage-recorder.js';
import type { Clock } from './util/clock.js';

/** Everything both origins share, built once by buildServer(). */
export interface Services extends ProtocolDeps {
  config: Config;
  storage: Storage;
  clock: Clock;
  limiter: RateLimiter;
  usage: UsageRecorder;
  /** Digests of recently accepted bearer tokens, so a client's next call skips hashing (decision 0104). */
  acceptedTokens: AcceptedTokenDigests;
  log?: FastifyBaseLogger;
}
