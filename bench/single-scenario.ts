/**
 * One scenario against one keyfob server, unpaired, for the profiling scripts
 * (bench/profile.ts, bench/perf-record.ts): a fresh SQLite file with the bench's fixture,
 * keyfob started as the timed bench starts it with the given node flags, the scenario's
 * load, and everything stopped and removed afterwards.
 */
import { openStorage } from '../src/storage/open.js';
import { sqliteBackend } from './backends.js';
import { startKeyfobProcess, type RunningKeyfob } from './keyfob-process.js';
import { pinSelf } from './proc.js';
import { runCodeExchange } from './scenarios/code-exchange.js';
import { runPinPolling } from './scenarios/pin-polling.js';
import { runTokenValidation } from './scenarios/token-validation.js';
import type { ScenarioContext, ScenarioResult } from './scenarios/types.js';
import { seedFixture } from './seed.js';

export const SINGLE_SCENARIOS = ['token-validation', 'code-exchange', 'pin-polling'] as const;
export type SingleScenario = (typeof SINGLE_SCENARIOS)[number];

function run(scenario: SingleScenario, ctx: ScenarioContext, seconds: number): Promise<ScenarioResult> {
  if (scenario === 'code-exchange') return runCodeExchange(ctx, seconds);
  if (scenario === 'pin-polling') return runPinPolling(ctx, seconds).then((r) => r.results.at(-1)!);
  return runTokenValidation(ctx, seconds);
}

/**
 * Runs `scenario` for about `seconds` on core 0, the load on core 1. `during`, when
 * given, starts with the load (it is handed the running server) and is waited for before
 * the server stops.
 */
export async function runSingleScenario(opts: {
  scenario: SingleScenario;
  seconds: number;
  root: string;
  nodeArgs: string[];
  during?: (kf: RunningKeyfob) => Promise<void>;
}): Promise<ScenarioResult> {
  pinSelf(1);
  const backend = sqliteBackend();
  const storage = await openStorage(backend.database);
  try {
    await storage.migrate();
    const fixture = await seedFixture(storage);
    const kf = await startKeyfobProcess({ database: backend.database, core: 0, root: opts.root, nodeArgs: opts.nodeArgs });
    try {
      const alongside = opts.during ? opts.during(kf) : Promise.resolve();
      let result: ScenarioResult;
      try {
        result = await run(opts.scenario, { kf, storage, fixture }, opts.seconds);
      } catch (err) {
        await alongside.catch(() => undefined);
        throw err;
      }
      await alongside;
      return result;
    } finally {
      await kf.stop();
    }
  } finally {
    await storage.close();
    await backend.cleanup();
  }
}
