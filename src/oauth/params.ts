import { ProtocolError } from './errors.js';

/** Request parameters as they arrive from a query string, a form or a JSON body. */
export type RawParams = Record<string, unknown>;

/**
 * Reads one parameter as a string. RFC 6749 §3.1 and §3.2: a parameter sent more than
 * once is refused (a query parser gives an array); non-string JSON values are refused too.
 * Numbers are not coerced: a client that sends {"code": 123} sent something else.
 */
export function readParam(params: RawParams | undefined | null, name: string): string | undefined {
  if (!params || typeof params !== 'object') return undefined;
  if (!Object.prototype.hasOwnProperty.call(params, name)) return undefined;
  const v = params[name];
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) throw new ProtocolError('wrong_parameter', `${name} was sent more than once`);
  if (typeof v !== 'string') throw new ProtocolError('wrong_parameter', `${name} must be a string`);
  return v;
}

/** Like readParam, but an empty string counts as absent (clients send `client_secret=` for public apps). */
export function readNonEmpty(params: RawParams | undefined | null, name: string): string | undefined {
  const v = readParam(params, name);
  return v === undefined || v === '' ? undefined : v;
}
