import type { FastifyBaseLogger, FastifyReply, FastifyRequest } from 'fastify';
import { ProtocolError } from '../oauth/errors.js';
import { StorageUnavailableError } from '../storage/storage.js';
import { setCorsHeaders } from './cors.js';

/**
 * Maps anything thrown on the api origin to the reference's envelope (§10.1).
 * 401s carry the Bearer challenge (§5.3, §9.2) with the error id, which some clients
 * look for. Unknown errors become a bare 500 "internal" that leaks nothing.
 */
export function toProtocolError(err: unknown): ProtocolError {
  if (err instanceof ProtocolError) return err;
  if (err instanceof StorageUnavailableError) return new ProtocolError('service_unavailable');
  const e = err as { code?: string; statusCode?: number };
  switch (e.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new ProtocolError('unsupported_media_type', 'Send application/json or application/x-www-form-urlencoded');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new ProtocolError('payload_too_large');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new ProtocolError('wrong_parameter', 'The request body could not be read');
  }
  if (err instanceof SyntaxError || e.statusCode === 400) return new ProtocolError('wrong_parameter', 'The request body could not be read');
  if (e.statusCode === 413) return new ProtocolError('payload_too_large');
  if (e.statusCode === 415) return new ProtocolError('unsupported_media_type', 'Send application/json or application/x-www-form-urlencoded');
  if (e.statusCode === 429) return new ProtocolError('rate_limit');
  return new ProtocolError('internal');
}

export function realmOf(apiUrl: string): string {
  return new URL(apiUrl).host;
}

export function sendProtocolError(reply: FastifyReply, err: ProtocolError, realm: string): FastifyReply {
  // §2.3 on errors too: those Fastify raises before routing (apiFrameworkErrors) skip the onRequest hook.
  setCorsHeaders(reply);
  if (err.status === 401) reply.header('www-authenticate', `Bearer realm="${realm}", error="${err.id}"`);
  if (err.status === 503) reply.header('retry-after', '5');
  return reply.code(err.status).type('application/json; charset=utf-8').send(err.toBody());
}

/**
 * `log`: where failed requests are logged when the api origin runs without a Fastify logger
 * (above info, see server.ts); otherwise the request's own logger, which carries its id.
 */
export function apiErrorHandler(realm: string, log?: () => FastifyBaseLogger | undefined) {
  return function handler(this: unknown, err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const pe = toProtocolError(err);
    if (pe.id === 'internal' || pe.id === 'service_unavailable') {
      const fallback = log?.();
      if (fallback) fallback.error({ err, reqId: request.id, req: request }, 'request failed');
      else request.log.error({ err }, 'request failed');
    }
    return sendProtocolError(reply, pe, realm);
  };
}

/**
 * Errors Fastify raises before routing (a path segment over maxParamLength, a malformed
 * URL): the envelope too, never Fastify's own body (which echoes the path back).
 */
export function apiFrameworkErrors(apiUrl: string) {
  const realm = realmOf(apiUrl);
  return (_err: unknown, _request: FastifyRequest, reply: FastifyReply): void => {
    void sendProtocolError(reply, new ProtocolError('wrong_parameter', 'The request path could not be read'), realm);
  };
}
