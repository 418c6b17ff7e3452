/**
 * Several recorded runs side by side: `node --import tsx bench/summarize.ts results/a.json
 * results/b.json …` prints, per backend and scenario, the CPU ratio of each run and their
 * median, and how many runs met the target. One run's ratio moves by ±0.05 on a shared
 * host (bench/README.md), so a target is judged on the median of several runs, not on one.
 */
import { readFileSync } from 'node:fs';
import { median } from './load.js';
import type { Report } from './report.js';

const files = process.argv.slice(2);
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx bench/summarize.ts RESULT.json [RESULT.json …]\n');
  process.exit(2);
}

const reports = files.map((f) => JSON.parse(readFileSync(f, 'utf8')) as Report);
const byRow = new Map<string, { title: string; target: number | undefined; ratios: number[] }>();
for (const report of reports) {
  for (const row of report.rows) {
    // A whole sign-in flow is counted in flows, not requests: it has no ratio to the ceiling.
    if (row.cpuRatio === undefined || row.unit !== 'request') continue;
    const key = `${row.backend}\t${row.id}`;
    const entry = byRow.get(key) ?? { title: row.title, target: row.target, ratios: [] };
    entry.ratios.push(row.cpuRatio);
    byRow.set(key, entry);
  }
}

process.stdout.write(`${reports.length} runs: ${reports.map((r) => r.date).join(', ')}\n\n`);
// Wide enough for every run's ratio ("0.93 " each) and the heading, however many runs.
const ratioWidth = Math.max(36, 5 * Math.max(0, ...[...byRow.values()].map((r) => r.ratios.length)) + 1);
process.stdout.write(`${'backend'.padEnd(9)}${'scenario'.padEnd(60)}${'CPU ratio per run'.padEnd(ratioWidth)}median  target  met\n`);
for (const [key, { title, target, ratios }] of byRow) {
  const [backend] = key.split('\t');
  const m = median(ratios);
  const met = target === undefined ? '' : `${ratios.filter((r) => r >= target).length} of ${ratios.length}`;
  process.stdout.write(
    `${backend!.padEnd(9)}${title.slice(0, 58).padEnd(60)}${ratios.map((r) => r.toFixed(2)).join(' ').padEnd(ratioWidth)}${m.toFixed(3).padEnd(8)}${(target === undefined ? '' : `≥ ${target.toFixed(2)}`).padEnd(8)}${met}\n`,
  );
}
