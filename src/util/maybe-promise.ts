/**
 * A value a storage may give at once (SQLite answers in this process) or later
 * (PostgreSQL answers over the network). Code written with `then` below runs without a
 * promise when every step answered at once: on the hottest paths (every PIN poll) the
 * promises cost more than the lookups they wait for (bench/README.md, decision 0085).
 */
export type MaybePromise<T> = T | Promise<T>;

/** `f(value)`, at once when `value` is not a promise. */
export function then<T, R>(value: MaybePromise<T>, f: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(f) : f(value);
}
