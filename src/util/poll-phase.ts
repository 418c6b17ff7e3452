/**
 * Which poll phase of the event loop is running, as far as arriving requests show it
 * (docs/decisions/0084).
 *
 * Node reads sockets in the event loop's poll phase: one `epoll_wait` returns every socket
 * that has data, and their requests are then handled one after another. A request handled
 * in that phase was sent before the `epoll_wait` returned, so anything observed after the
 * phase's first request arrived was observed after every request of the phase was sent.
 * The SQLite read cache uses this to ask "has another instance committed?" once per poll
 * phase instead of once per lookup, without ever answering a request from a state older
 * than the moment the request was sent.
 *
 * A phase is known from its first request (`requestArrived`, called by the api origin's
 * onRequest hook) until the check phase that follows, where an immediate ends it. Code
 * running anywhere else (timers, the check phase, a command-line tool, a phase in which no
 * request arrived yet) sees phase 0: unknown, and must not reuse anything.
 */

/**
 * Requests that share one number at most. libuv polls again within the same phase, without
 * blocking, when one epoll_wait returned as many events as it asks for (1,024): requests
 * of that second poll may have been sent after the phase began. A new number every so many
 * requests bounds how stale a reused probe can be, to the time this many requests take
 * (a few milliseconds at worst), and costs a probe per this many requests.
 */
export const REQUESTS_PER_NUMBER = 128;

let phase = 0;
let inPhase = false;
let requests = 0;

function endPhase(): void {
  inPhase = false;
}

/**
 * Marks that a request arrived: the first one of a poll phase starts a new phase number
 * (and so does every REQUESTS_PER_NUMBER-th one after it).
 * The immediate that ends the phase must stay ref'd: an unref'd immediate does not keep
 * the poll phase from blocking, so the next poll phase could begin inside this one.
 */
export function requestArrived(): void {
  if (inPhase) {
    requests += 1;
    if (requests < REQUESTS_PER_NUMBER) return;
    requests = 0;
    phase += 1;
    return;
  }
  inPhase = true;
  requests = 0;
  phase += 1;
  setImmediate(endPhase);
}

/** The number of the running poll phase when a request has arrived in it, else 0. */
export function currentPollPhase(): number {
  return inPhase ? phase : 0;
}
