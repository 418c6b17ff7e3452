/**
 * Profiles keyfob under one scenario's load: `node --import tsx bench/profile.ts <scenario>`
 * with scenario one of token-validation, code-exchange, pin-polling. Starts keyfob
 * with `node --cpu-prof`, runs the load, stops the server (which writes the profile),
 * and prints the functions with the most self time, and keyfob's own functions by
 * total time. The .cpuprofile file opens in Chrome DevTools.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSingleScenario, SINGLE_SCENARIOS, type SingleScenario } from './single-scenario.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

function label(n: ProfileNode): string {
  const f = n.callFrame;
  const where = f.url.replace(/^file:\/\//, '').replace(`${ROOT}/`, '');
  return `${f.functionName || '(anonymous)'} ${where}:${f.lineNumber + 1}`;
}

function summarise(profile: Profile, top: number): string {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<number, number>();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const selfByLabel = new Map<string, number>();
  const totalByLabel = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    selfByLabel.set(label(n), (selfByLabel.get(label(n)) ?? 0) + t);
    // Charge the sample to every distinct function on its stack.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const l = label(byId.get(cur)!);
      if (seen.has(l)) continue;
      seen.add(l);
      totalByLabel.set(l, (totalByLabel.get(l) ?? 0) + t);
    }
  }
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;
  const lines = ['self time:'];
  for (const [l, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${l}`);
  lines.push('', 'total time, keyfob code (dist/):');
  for (const [l, t] of [...totalByLabel].filter(([l]) => l.includes('dist/')).sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${pct(t)}  ${l}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const scenario = (process.argv[2] ?? 'token-validation') as SingleScenario;
  if (!SINGLE_SCENARIOS.includes(scenario)) throw new Error(`scenario is one of ${SINGLE_SCENARIOS.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'keyfob-prof-'));
  const result = await runSingleScenario({ scenario, seconds: 6, root: ROOT, nodeArgs: ['--cpu-prof', '--cpu-prof-dir', dir] });
  const m = result.measurement;
  process.stdout.write(`${scenario}: ${m ? `${Math.round(m.rps)} /s, ${m.cpuUsPerOk.toFixed(1)} µs CPU each, server core ${(100 * m.serverBusy).toFixed(0)}% busy, load core ${(100 * m.generatorBusy).toFixed(0)}% busy` : result.note}\n`);
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no profile written');
  process.stdout.write(`${summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile, 30)}\nprofile: ${join(dir, file)}\n`);
}

await main();
