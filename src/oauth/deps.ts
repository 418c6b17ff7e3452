import type { Storage } from '../storage/storage.js';
import type { Clock } from '../util/clock.js';

/** What protocol code needs from the outside world, passed explicitly (no request god-object). */
export interface ProtocolDeps {
  storage: Storage;
  clock: Clock;
  /** Server secret from configuration: derives V1 access tokens. */
  secret: string;
}
