import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendPage } from './render.js';

function wantsJson(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('application/json') && !accept.includes('text/html');
}

/**
 * An error answer on the web origin: the error page for people, or the reference's
 * JSON envelope ({error, code, message}) when the client asks for JSON.
 */
export function sendWebError(request: FastifyRequest, reply: FastifyReply, status: number, error: string, message: string, title = 'Something went wrong'): FastifyReply {
  if (wantsJson(request)) return reply.code(status).type('application/json; charset=utf-8').send({ error, code: status, message });
  return sendPage(reply, 'error', { title, user: request.user ?? null, status, error, message }, status);
}

/** Errors Fastify raises before routing (an overlong path segment, a malformed URL): the error page, not Fastify's JSON. */
export function webFrameworkErrors(_err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  void sendWebError(request, reply, 400, 'bad_request', 'The address could not be understood.');
}
