import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dumpTotals } from '../../bench/callgrind-dump.js';

// The head of a dump as callgrind 3.19 writes it, with and without --cache-sim=yes.
const HEAD = `# callgrind format
version: 1
creator: callgrind-3.19.0
pid: 22065
part: 3
thread: 1

desc: I1 cache: 32768 B, 64 B, 8-way associative

positions: line
`;

describe('a callgrind dump\'s totals', () => {
  it('reads the instructions of a dump without the cache simulation', () => {
    assert.deepEqual(dumpTotals(`${HEAD}events: Ir\nsummary: 185260865\n\nfl=(1) x\n+2 1\ntotals: 185260882\n`), { instructions: 185260865 });
  });

  it('reads the first-level misses of a dump with it, data reads and writes together', () => {
    const dump = `${HEAD}events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 185260865 47588631 24401785 7908737 2939048 541239 169 260 525\n`;
    assert.deepEqual(dumpTotals(dump), { instructions: 185260865, misses: { instruction: 7908737, data: 2939048 + 541239 } });
  });

  it('counts columns left out at the end of the totals as zero', () => {
    const dump = `${HEAD}events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\nsummary: 265 76 44\n`;
    assert.deepEqual(dumpTotals(dump), { instructions: 265, misses: { instruction: 0, data: 0 } });
  });

  it('takes the totals line when there is no summary, and finds none in an empty or cut-off dump', () => {
    assert.deepEqual(dumpTotals(`${HEAD}events: Ir\n+2 1\ntotals: 42\n`), { instructions: 42 });
    assert.equal(dumpTotals(''), null);
    assert.equal(dumpTotals(`${HEAD}events: Ir\n`), null);
    assert.equal(dumpTotals(`${HEAD}events: Dr Dw\nsummary: 1 2\n`), null);
  });
});
