import type { Storage } from '../../src/storage/storage.js';
import type { RunningKeyfob } from '../keyfob-process.js';
import type { Measurement, PairedCeiling } from '../load.js';
import type { BenchFixture } from '../seed.js';

export interface ScenarioContext {
  kf: RunningKeyfob;
  /** A second connection to the server's database. */
  storage: Storage;
  fixture: BenchFixture;
  /** The ceiling each measured run is paired with, slice by slice (bench/load.ts). */
  pair?: PairedCeiling;
}

export interface ScenarioResult {
  id: 'ceiling' | 'ceiling-cors' | 'ceiling-post' | 'token-validation' | 'pin-first-poll' | 'pin-polling' | 'code-exchange' | 'signin-flow';
  title: string;
  /** What one counted unit is: a request, or a whole sign-in flow of several requests. */
  unit: 'request' | 'flow';
  /** False when the server has no such endpoint yet; `note` says why. */
  available: boolean;
  measurement?: Measurement;
  /** Correctness checks made on the run, each a short sentence; `passed` false marks a failed one. */
  checks: Array<{ what: string; passed: boolean }>;
  note?: string;
}

/** The query every api call carries (reference §2.1). */
export function clientQuery(clientId: string): string {
  return `client_id=${clientId}&app-name=bench&app-version=1.0`;
}

export const USER_AGENT = 'keyfob-bench/1.0';
