/** Runs every keyfob scenario against one backend: seed, start the server, measure, stop. */
import { openStorage } from '../src/storage/open.js';
import type { Backend } from './backends.js';
import type { PairedCeiling } from './load.js';
import { startKeyfobProcess } from './keyfob-process.js';
import { runCodeExchange } from './scenarios/code-exchange.js';
import { runPinPolling, type PinMemory } from './scenarios/pin-polling.js';
import { runSigninFlow } from './scenarios/signin-flow.js';
import { runTokenValidation } from './scenarios/token-validation.js';
import type { ScenarioContext, ScenarioResult } from './scenarios/types.js';
import { seedFixture } from './seed.js';

export interface BackendRun {
  name: Backend['name'];
  scenarios: ScenarioResult[];
  /** Absent when the PIN scenario was not run (`--only`). */
  memory?: PinMemory;
}

/** The scenario names `--only` accepts. */
export const SCENARIOS = ['token-validation', 'code-exchange', 'pin-polling', 'signin-flow'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export async function runBackend(
  root: string,
  backend: Backend,
  opts: { serverCore: number; seconds: number; log: (s: string) => void; only?: ReadonlySet<ScenarioName>; pair?: PairedCeiling },
): Promise<BackendRun> {
  const wanted = (name: ScenarioName) => !opts.only || opts.only.has(name);
  const storage = await openStorage(backend.database);
  try {
    await storage.migrate();
    const fixture = await seedFixture(storage);
    const kf = await startKeyfobProcess({ database: backend.database, core: opts.serverCore, root });
    try {
      const ctx: ScenarioContext = { kf, storage, fixture, pair: opts.pair };
      const scenarios: ScenarioResult[] = [];
      let memory: PinMemory | undefined;
      if (wanted('token-validation')) {
        opts.log(`${backend.name}: token validation`);
        scenarios.push(await runTokenValidation(ctx, opts.seconds));
      }
      if (wanted('code-exchange')) {
        opts.log(`${backend.name}: code exchange`);
        scenarios.push(await runCodeExchange(ctx, opts.seconds));
      }
      // After the scenarios above, so the memory baseline is a server already warmed by load.
      if (wanted('pin-polling')) {
        opts.log(`${backend.name}: PIN polling over 100,000 pending PINs`);
        const pin = await runPinPolling(ctx, opts.seconds);
        scenarios.push(...pin.results);
        memory = pin.memory;
      }
      if (wanted('signin-flow')) {
        opts.log(`${backend.name}: sign-in flow`);
        scenarios.push(await runSigninFlow(ctx, opts.seconds));
      }
      return { name: backend.name, scenarios, memory };
    } finally {
      await kf.stop();
    }
  } finally {
    await storage.close();
    await backend.cleanup();
  }
}
