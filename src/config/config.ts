import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { randomHex } from '../util/crypto.js';

/**
 * The whole configuration surface of keyfob. Every field has its default beside it
 * and an environment variable; command-line flags override the environment.
 * loadConfig() checks everything at start-up and throws ConfigError with a message
 * that names the setting at fault.
 */
export interface Config {
  /** Address both origins listen on. KEYFOB_HOST, default 127.0.0.1. */
  host: string;
  /** Web origin port (consent, sign-in, /pin, settings). KEYFOB_WEB_PORT, default 8080. 0 = any free port. */
  webPort: number;
  /** API origin port (/oauth/token, /oauth/pin, /users/settings). KEYFOB_API_PORT, default 8081. */
  apiPort: number;
  /** Public URL of the web origin, no trailing slash (issuer). KEYFOB_WEB_URL, default http://HOST:WEB_PORT. */
  webUrl: string;
  /** Public URL of the api origin, no trailing slash. KEYFOB_API_URL, default http://HOST:API_PORT. */
  apiUrl: string;
  /** A SQLite file path or a postgres:// URL. KEYFOB_DATABASE, default ./data/keyfob.sqlite. */
  database: string;
  /**
   * Server secret: signs cookies and derives access tokens. At least 32 characters.
   * KEYFOB_SECRET. With SQLite and none given, one is generated once and kept in
   * a file beside the database (mode 0600); with PostgreSQL it is required, because
   * every instance must share it.
   */
  secret: string;
  /** Whether visitors may create accounts. KEYFOB_SIGNUP=true|false, default true. */
  signupEnabled: boolean;
  /** Optional Redis URL that makes rate limits hold across instances. KEYFOB_REDIS_URL. */
  redisUrl: string | null;
  /** Prefix of every Redis key, so deployments can share one Redis. KEYFOB_REDIS_PREFIX, default "keyfob:". */
  redisPrefix: string;
  /** Milliseconds between sweeps of expired codes, PINs and sessions. KEYFOB_CLEANUP_INTERVAL in seconds, default 600; 0 turns the sweep off. */
  cleanupIntervalMs: number;
  /** Create the demo user and apps when the database has no users. KEYFOB_DEMO, default true. */
  demo: boolean;
  /** Apply the reference's per-second API limits (§10.4). KEYFOB_RATE_LIMITS, default true. */
  rateLimits: boolean;
  /** pino level. KEYFOB_LOG_LEVEL, default info. */
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Trust X-Forwarded-* from a proxy in front. KEYFOB_TRUST_PROXY, default false. */
  trustProxy: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** Flag values as parsed by the CLI; undefined means "not given". */
export interface ConfigFlags {
  host?: string | undefined;
  webPort?: string | number | undefined;
  apiPort?: string | number | undefined;
  webUrl?: string | undefined;
  apiUrl?: string | undefined;
  database?: string | undefined;
  secret?: string | undefined;
  signup?: string | boolean | undefined;
  redisUrl?: string | undefined;
  redisPrefix?: string | undefined;
  cleanupInterval?: string | number | undefined;
  demo?: string | boolean | undefined;
  rateLimits?: string | boolean | undefined;
  logLevel?: string | undefined;
  trustProxy?: string | boolean | undefined;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export const DEFAULT_DATABASE = './data/keyfob.sqlite';

function pick<T>(flag: T | undefined, env: string | undefined): T | string | undefined {
  if (flag !== undefined) return flag;
  if (env !== undefined && env !== '') return env;
  return undefined;
}

function parsePort(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'number' ? value : Number(String(value));
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new ConfigError(`${name} must be a port number from 0 to 65535, got "${String(value)}"`);
  }
  return n;
}

function parseBool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value === 'boolean') return value;
  const s = String(value).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new ConfigError(`${name} must be true or false, got "${String(value)}"`);
}

function parseUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name} must be an absolute http(s) URL, got "${value}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ConfigError(`${name} must use http or https, got "${value}"`);
  }
  if (url.search || url.hash) throw new ConfigError(`${name} must not carry a query or fragment`);
  return url.toString().replace(/\/+$/, '');
}

export function isPostgresUrl(database: string): boolean {
  return /^postgres(ql)?:\/\//i.test(database);
}

/** Reads or creates the secret file kept beside a SQLite database. */
function secretBesideDatabase(database: string): string {
  if (database === ':memory:') return randomHex(32);
  const file = resolve(`${database}.secret`);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomHex(32);
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

export function loadConfig(flags: ConfigFlags = {}, env: NodeJS.ProcessEnv = process.env): Config {
  const host = String(pick(flags.host, env.KEYFOB_HOST) ?? '127.0.0.1');
  const webPort = parsePort('web port (--web-port / KEYFOB_WEB_PORT)', pick(flags.webPort, env.KEYFOB_WEB_PORT), 8080);
  const apiPort = parsePort('api port (--api-port / KEYFOB_API_PORT)', pick(flags.apiPort, env.KEYFOB_API_PORT), 8081);
  if (webPort !== 0 && webPort === apiPort) {
    throw new ConfigError(`the web and api origins need different ports (both are ${webPort})`);
  }
  const urlHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const webUrlRaw = pick(flags.webUrl, env.KEYFOB_WEB_URL);
  const apiUrlRaw = pick(flags.apiUrl, env.KEYFOB_API_URL);
  const webUrl = parseUrl('web URL (--web-url / KEYFOB_WEB_URL)', String(webUrlRaw ?? `http://${urlHost}:${webPort}`));
  const apiUrl = parseUrl('api URL (--api-url / KEYFOB_API_URL)', String(apiUrlRaw ?? `http://${urlHost}:${apiPort}`));
  const database = String(pick(flags.database, env.KEYFOB_DATABASE) ?? DEFAULT_DATABASE);
  if (database.trim() === '') throw new ConfigError('database (--database / KEYFOB_DATABASE) must not be empty');

  let secret = pick(flags.secret, env.KEYFOB_SECRET);
  if (secret === undefined) {
    if (isPostgresUrl(database)) {
      throw new ConfigError(
        'KEYFOB_SECRET (or --secret) is required with PostgreSQL: every instance must share the same secret of at least 32 characters',
      );
    }
    secret = secretBesideDatabase(database);
  }
  if (String(secret).length < 32) {
    throw new ConfigError('the server secret (--secret / KEYFOB_SECRET) must be at least 32 characters');
  }

  const logLevel = String(pick(flags.logLevel, env.KEYFOB_LOG_LEVEL) ?? 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new ConfigError(`log level (KEYFOB_LOG_LEVEL) must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const redis = pick(flags.redisUrl, env.KEYFOB_REDIS_URL);
  if (redis !== undefined && !/^rediss?:\/\//.test(String(redis))) {
    throw new ConfigError(`Redis URL (--redis-url / KEYFOB_REDIS_URL) must start with redis:// or rediss://`);
  }

  const redisPrefix = String(pick(flags.redisPrefix, env.KEYFOB_REDIS_PREFIX) ?? 'keyfob:');
  if (!/^[\x21-\x7e]{1,64}$/.test(redisPrefix)) {
    throw new ConfigError('Redis key prefix (KEYFOB_REDIS_PREFIX) must be 1 to 64 printable characters without spaces');
  }
  const cleanupRaw = pick(flags.cleanupInterval, env.KEYFOB_CLEANUP_INTERVAL);
  const cleanupSeconds = cleanupRaw === undefined ? 600 : Number(String(cleanupRaw));
  if (!Number.isInteger(cleanupSeconds) || cleanupSeconds < 0 || cleanupSeconds > 7 * 24 * 3600) {
    throw new ConfigError(`cleanup interval (KEYFOB_CLEANUP_INTERVAL) must be a whole number of seconds from 0 to 604800, got "${String(cleanupRaw)}"`);
  }

  return {
    host,
    webPort,
    apiPort,
    webUrl,
    apiUrl,
    database,
    secret: String(secret),
    signupEnabled: parseBool('signup (KEYFOB_SIGNUP)', pick(flags.signup, env.KEYFOB_SIGNUP), true),
    redisUrl: redis === undefined ? null : String(redis),
    redisPrefix,
    cleanupIntervalMs: cleanupSeconds * 1000,
    demo: parseBool('demo (KEYFOB_DEMO)', pick(flags.demo, env.KEYFOB_DEMO), true),
    rateLimits: parseBool('rate limits (KEYFOB_RATE_LIMITS)', pick(flags.rateLimits, env.KEYFOB_RATE_LIMITS), true),
    logLevel: logLevel as Config['logLevel'],
    trustProxy: parseBool('trust proxy (KEYFOB_TRUST_PROXY)', pick(flags.trustProxy, env.KEYFOB_TRUST_PROXY), false),
  };
}
