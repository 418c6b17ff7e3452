import type { FastifyRequest } from 'fastify';
import { ProtocolError } from '../oauth/errors.js';
import { readParam } from '../oauth/params.js';
import type { ClientMeta } from '../storage/storage.js';

/** §2.1: client_id from the query, or the legacy `simkl-api-key` header. */
export function requestClientId(request: FastifyRequest): string | undefined {
  const fromQuery = readParam(request.query as Record<string, unknown>, 'client_id');
  if (fromQuery) return fromQuery;
  const header = request.headers['simkl-api-key'];
  if (Array.isArray(header)) throw new ProtocolError('wrong_parameter', 'simkl-api-key was sent more than once');
  return header || undefined;
}

/** §2.1, §2.2: what the client says about itself, recorded for Connected Apps. Never validated beyond shape. */
export function requestMeta(request: FastifyRequest): ClientMeta {
  const q = request.query as Record<string, unknown>;
  const s = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v.slice(0, 200) : null);
  const ua = request.headers['user-agent'];
  return { appName: s(q['app-name']), appVersion: s(q['app-version']), userAgent: s(ua) };
}
