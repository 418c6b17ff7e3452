import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { calleesOf, inclusiveShares, parsePerfScript, selfShares } from '../../bench/perf-stacks.js';

// The shape `perf script -F comm,ip,sym` prints: a command line, then frames innermost first.
const SCRIPT = `node 
\t          ae9713 sha256_block_data_order_shaext
\t          b0e8bf node::crypto::Hmac::HmacDigest
\t    7ff5a818f0d0 JS:*hmacHex file:///repo/dist/util/crypto.js:23:24
\t    7ff5a8190cad JS:*tokenOf file:///repo/dist/oauth/grants/v1-token.js:40:12
\t          14d1546 uv_run

node 
\t          9d72f8 sqlite3VdbeExec
\t          9da8e3 sqlite3_step
\t    7ff5a8190aaa JS:* file:///repo/dist/storage/sqlite/sqlite-storage.js:211:34
\t          14d1546 uv_run

node 
\t    7ff5a8190cad JS:*tokenOf file:///repo/dist/oauth/grants/v1-token.js:40:12
\t          14d1546 uv_run
node 
\t          ffffffff
\t          14d1546 uv_run
`;

describe('reading perf call stacks (bench/perf-record.ts)', () => {
  const stacks = parsePerfScript(SCRIPT);

  it('parses each sample into its frames, innermost first, with or without a blank line between samples', () => {
    assert.equal(stacks.length, 4);
    assert.deepEqual(stacks[1], ['sqlite3VdbeExec', 'sqlite3_step', 'JS:* file:///repo/dist/storage/sqlite/sqlite-storage.js:211:34', 'uv_run']);
    assert.deepEqual(stacks[2], ['JS:*tokenOf file:///repo/dist/oauth/grants/v1-token.js:40:12', 'uv_run']);
    assert.deepEqual(stacks[3], ['[unknown]', 'uv_run']);
  });

  it('counts where samples stopped, as shares of all samples, most frequent first', () => {
    assert.deepEqual(selfShares(stacks, 2), [
      { name: 'sha256_block_data_order_shaext', share: 0.25 },
      { name: 'sqlite3VdbeExec', share: 0.25 },
    ]);
  });

  it('counts the frames samples passed through, only those kept, a repeated frame once per sample', () => {
    const recursive = parsePerfScript('node\n\t1 f\n\t2 f\n\t3 main\nnode\n\t4 main\n');
    assert.deepEqual(inclusiveShares(recursive, () => true, 5), [
      { name: 'main', share: 1 },
      { name: 'f', share: 0.5 },
    ]);
    assert.deepEqual(
      inclusiveShares(stacks, (name) => name.includes('/dist/'), 5).map((s) => [s.name.split(' ')[0], s.share]),
      [
        ['JS:*tokenOf', 0.5],
        ['JS:*hmacHex', 0.25],
        ['JS:*', 0.25],
      ],
    );
  });

  it("splits a frame's share among what it called, to the depth asked, and its own samples", () => {
    assert.deepEqual(calleesOf(stacks, 'tokenOf', 1, 5), {
      total: 0.5,
      callees: [
        { name: 'JS:*hmacHex file:///repo/dist/util/crypto.js:23:24', share: 0.25 },
        { name: '<self>', share: 0.25 },
      ],
    });
    assert.deepEqual(calleesOf(stacks, 'sqlite-storage.js:211', 2, 5).callees, [{ name: 'sqlite3_step > sqlite3VdbeExec', share: 0.25 }]);
    assert.deepEqual(calleesOf(stacks, 'no such frame', 1, 5), { total: 0, callees: [] });
  });
});
