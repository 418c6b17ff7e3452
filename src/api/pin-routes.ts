import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { App } from '../storage/storage.js';
import { answerPollRead, PinRateLimitError, pollPin, readPollTogether, resolvePinClient, startPin } from '../oauth/grants/pin.js';
import { readNonEmpty } from '../oauth/params.js';
import type { Services } from '../services.js';
import { requestClientId, requestMeta } from './client.js';
import { JsonTexts, sendJsonText } from './json-text.js';

/** The poll answers' texts, for the frozen ones (decision 0087). */
const answerTexts = new JsonTexts<object>((answer) => answer);

/**
 * GET /oauth/pin and GET /oauth/pin/{user_code} (reference §7). Not under the per-client
 * per-second API limits (§10.4): many devices of one app poll at once; the PIN flow has
 * its own per-code and per-address limits instead (docs/decisions/0031).
 */
export function registerPinRoutes(app: FastifyInstance, services: Services): void {
  const verificationUri = `${services.config.webUrl}/pin`;

  // No PIN answer may be kept by a cache: a kept "Authorization pending" would hide the
  // approval (RFC 9111 §5.2.2.5). Answers that carry a user code or a token also get
  // HTTP/1.0's Pragma, as RFC 6749 §5.1 asks of token answers (decision 0102).
  const noStore = (reply: FastifyReply) => reply.header('cache-control', 'no-store');
  const sensitive = <T extends { result: string }>(reply: FastifyReply, answer: T): T => {
    if (answer.result === 'OK') reply.header('pragma', 'no-cache');
    return answer;
  };
  const withRetryAfter = async <T>(reply: FastifyReply, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof PinRateLimitError) reply.header('retry-after', String(err.retryAfterS));
      throw err;
    }
  };

  app.get('/oauth/pin', async (request, reply) => {
    const client = await resolvePinClient(services, requestClientId(request));
    const redirect = readNonEmpty(request.query as Record<string, unknown>, 'redirect');
    noStore(reply);
    return withRetryAfter(reply, () =>
      startPin(services, { app: client, redirect, meta: requestMeta(request), ip: request.ip, verificationUri }).then((answer) => sensitive(reply, answer)),
    );
  });

  type PollRequest = FastifyRequest<{ Params: { user_code: string } }>;
  const poll = (request: PollRequest, reply: FastifyReply, client: App) => {
    noStore(reply);
    return pollPin(services, { app: client, rawCode: request.params.user_code, meta: () => requestMeta(request), ip: request.ip, verificationUri });
  };
  // Not async: a pending poll is answered without a promise when the storage answers at once (decision 0085).
  app.get<{ Params: { user_code: string } }>('/oauth/pin/:user_code', (request, reply) => {
    const clientId = requestClientId(request);
    // PostgreSQL reads the client and the PIN in one round trip (decision 0089).
    const together = readPollTogether(services, clientId, request.params.user_code);
    if (together !== null) {
      return withRetryAfter(reply, () =>
        together.then((read) => {
          noStore(reply);
          const answer = answerPollRead(services, { rawCode: request.params.user_code, meta: () => requestMeta(request), ip: request.ip, verificationUri }, read);
          return answer instanceof Promise ? answer.then((a) => sensitive(reply, a)) : sensitive(reply, answer);
        }),
      );
    }
    const client = resolvePinClient(services, clientId);
    const answer = client instanceof Promise ? client.then((c) => poll(request, reply, c)) : poll(request, reply, client);
    if (answer instanceof Promise) return withRetryAfter(reply, () => answer.then((a) => sensitive(reply, a)));
    sensitive(reply, answer);
    // "Authorization pending" and "Slow down" are frozen constants: sent as text kept once.
    const text = answerTexts.of(answer);
    return text === undefined ? answer : sendJsonText(reply, text);
  });
}
