import type { FastifyReply } from 'fastify';

/** The content type Fastify gives a serialised JSON body; a body sent as text names it itself. */
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends kept JSON text from a synchronous handler, which then returns this undefined:
 * Fastify awaits a returned reply through its then(), a closure and two calls more per
 * request (bench/README.md, twelfth round).
 */
export function sendJsonText(reply: FastifyReply, text: string): undefined {
  reply.type(JSON_TYPE).send(text);
  return undefined;
}

/**
 * JSON answers kept as text by the record they are made from, for records that are frozen
 * whole (SQLite's read cache hands out deep-frozen records; the PIN flow's constant
 * answers are frozen): the same few answers go out again and again, and looking their
 * text up costs less than building and serialising them on every call (decision 0087).
 * A record changes only by being replaced, so its text never outlives it, and records are
 * held weakly. Anything not frozen gets undefined: the caller serialises it as usual.
 */
export class JsonTexts<K extends object> {
  private readonly texts = new WeakMap<K, string>();

  constructor(private readonly body: (record: K) => unknown) {}

  of(record: K): string | undefined {
    // A record with a kept text was frozen when it was kept, and stays frozen: asking
    // Object.isFrozen only before keeping a text saves it on every call that finds one.
    let text = this.texts.get(record);
    if (text !== undefined) return text;
    if (!Object.isFrozen(record)) return undefined;
    text = JSON.stringify(this.body(record));
    this.texts.set(record, text);
    return text;
  }
}
