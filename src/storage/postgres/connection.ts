import { StorageUnavailableError } from '../storage.js';

/** What a postgres:// database URL asks for, once keyfob's own parameters are taken out of it. */
export interface PostgresTarget {
  /** The URL handed to node-postgres, without keyfob's `schema` parameter. */
  connectionString: string;
  /** The schema keyfob keeps its tables in; null means the server's default search_path (usually `public`). */
  schema: string | null;
}

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/**
 * Reads a database URL such as `postgres://user@host:5432/db?schema=keyfob`.
 * The schema can also come from libpq's own `options=-c search_path=NAME`. Schema names
 * are limited to plain identifiers, so they can be placed in SQL and in the startup
 * `options` without quoting.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error('the PostgreSQL database URL could not be parsed (expected postgres://user@host:port/database)');
  }
  let schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema === null) {
    const m = /(?:^|\s)-c\s*search_path=([^\s,]+)/.exec(parsed.searchParams.get('options') ?? '');
    schema = m ? m[1]!.replace(/^"|"$/g, '') : null;
  }
  if (schema !== null && !SCHEMA_NAME.test(schema)) {
    throw new Error(`the schema "${schema}" in the database URL must be a plain identifier (letters, digits, underscore)`);
  }
  return { connectionString: parsed.toString(), schema };
}

/** Node socket errors and PostgreSQL SQLSTATEs that mean "the database cannot be reached right now". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up / recovering)
  '53300', // too_many_connections
]);

const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection terminated unexpectedly|the database system is (starting up|shutting down)/i;

export function isUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && (UNAVAILABLE_CODES.has(e.code) || e.code.startsWith('08'))) return true;
  if (typeof e.message === 'string' && UNAVAILABLE_MESSAGES.test(e.message)) return true;
  // Node's happy-eyeballs connect reports an AggregateError holding one error per address.
  if (Array.isArray(e.errors)) return e.errors.some(isUnavailable);
  return false;
}

/** Turns a connection failure into StorageUnavailableError (the origins answer 503); other errors pass unchanged. */
export function toStorageError(err: unknown): unknown {
  if (err instanceof StorageUnavailableError) return err;
  if (isUnavailable(err)) return new StorageUnavailableError('PostgreSQL cannot be reached', { cause: err });
  return err;
}
