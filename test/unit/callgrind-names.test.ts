import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { namedSelfCosts, parsePerfMap } from '../../bench/callgrind-names.js';

// The shapes callgrind_annotate and node's --perf-basic-prof write (bench/callgrind-names.ts).
const ANNOTATED = `--------------------------------------------------------------------------------
Ir
--------------------------------------------------------------------------------
10,000 (100.0%)  PROGRAM TOTALS

--------------------------------------------------------------------------------
Ir                  file:function
--------------------------------------------------------------------------------
 3,000 (30.00%)  ???:0x000000000d123440 [???]
 2,000 (20.00%)  ???:llhttp__internal_execute [/usr/bin/node]
 1,500 (15.00%)  ???:0x000000000d123500 [???]
 1,000 (10.00%)  ./malloc/./malloc/malloc.c:_int_free [/usr/lib/x86_64-linux-gnu/libc.so.6]
   900 ( 9.00%)  ???:0x000000000e000000 [???]
   600 ( 6.00%)  ???:0x000000000d200010 [???]
`;

const MAP = `d123400 200 JS:*parse /repo/node_modules/fast-querystring/lib/parse.js:13:15
d200000 40 JS:^read file:///repo/dist/storage/read-cache.js:130:9
d200000 80 JS:*read file:///repo/dist/storage/read-cache.js:130:9
not a map line
`;

describe('naming generated code in a callgrind profile', () => {
  it('parses a perf map, sorted by address, later entries for the same code after earlier ones', () => {
    const map = parsePerfMap(MAP);
    assert.deepEqual(
      map.map((e) => [e.start, e.size]),
      [
        [0xd123400, 0x200],
        [0xd200000, 0x40],
        [0xd200000, 0x80],
      ],
    );
  });

  it('names addresses inside generated code, adds up self costs per name, and keeps native names', () => {
    const { total, rows } = namedSelfCosts(ANNOTATED, parsePerfMap(MAP), '/repo');
    assert.equal(total, 10_000);
    assert.deepEqual(rows, [
      // Two addresses inside the same function's code are one row.
      { name: '*parse node_modules/fast-querystring/lib/parse.js:13:15', instructions: 4_500 },
      { name: 'llhttp__internal_execute', instructions: 2_000 },
      { name: './malloc/./malloc/malloc.c:_int_free', instructions: 1_000 },
      // Outside every entry of the map.
      { name: '(generated code, unnamed)', instructions: 900 },
      // Two entries start there (the code was replaced): the one written last names it.
      { name: '*read dist/storage/read-cache.js:130:9', instructions: 600 },
    ]);
  });

  it('leaves generated code unnamed when there is no map', () => {
    const { rows } = namedSelfCosts(ANNOTATED, [], '/repo');
    assert.equal(rows.find((r) => r.name === '(generated code, unnamed)')?.instructions, 3_000 + 1_500 + 900 + 600);
  });
});
