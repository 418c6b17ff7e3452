import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { getSettings } from '../helpers/flows.js';
import { type Fixture, type TestKeyfob } from '../helpers/keyfob.js';
import { answerPin } from '../helpers/pin.js';
import { WebAgent } from '../helpers/web-agent.js';
import { startSignedIn } from '../helpers/signed-in.js';

/** `keyfob pin-login` as a child process against a test server (npm test builds dist/ first). */
const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'index.js');

interface Run {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the text once stdout matches. */
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  exit: Promise<number | null>;
}

function runCli(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString('utf8');
    for (const w of [...waiters]) {
      const m = w.re.exec(out);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const m = re.exec(out);
        if (m) return resolve(m);
        waiters.push({ re, resolve });
        void exit.then(() => reject(new Error(`pin-login exited before printing ${re}: ${out}\n${err}`)));
      }),
    exit,
  };
}

describe('keyfob pin-login', () => {
  let kf: TestKeyfob;
  let fx: Fixture;
  let agent: WebAgent;

  before(async () => {
    ({ kf, fx, agent } = await startSignedIn());
  });
  after(async () => kf.close());

  it('prints the code, the URL and a QR code, polls until approved, and prints a working token', { timeout: 20_000 }, async () => {
    const run = runCli(['pin-login', '--client-id', fx.public.clientId, '--api', kf.apiUrl, '--interval-ms', '200']);
    const [, code] = await run.waitFor(/Code: ([A-Z0-9]{5})\n/);
    // Output arrives in chunks: wait for each part rather than reading it at once.
    await run.waitFor(/[▄█▀]{5,}/); // a QR code is drawn
    assert.match(run.stdout(), new RegExp(`^Open ${kf.webUrl}/pin and enter the code:\n`));
    assert.match(run.stdout(), new RegExp(`Or open ${kf.webUrl}/pin/${code} or scan:\n`));
    // Let it poll a few times while pending before approving.
    for (let i = 0; i < 100 && (await kf.storage.findPin(code!))?.lastPolledAt == null; i += 1) await new Promise((r) => setTimeout(r, 50));
    assert.equal((await answerPin(agent, code!, 'approve')).status, 200);
    assert.equal(await run.exit, 0, run.stderr());
    const token = /Access token:\n([0-9a-f]{64})\n$/.exec(run.stdout())?.[1];
    assert.ok(token, run.stdout());
    const settings = await getSettings(kf, token, fx.public.clientId);
    assert.equal(settings.status, 200);
    assert.equal(((await settings.json()) as { account: { id: number } }).account.id, fx.userId);
    // The app-name it sends is what Connected Apps shows.
    const row = (await kf.storage.listConnectedApps(fx.userId)).find((c) => c.clientId === fx.public.clientId);
    assert.equal(row?.grant.appName, 'keyfob-pin-login');
  });

  it('stops with exit code 1 when the code is refused on the web', { timeout: 20_000 }, async () => {
    const run = runCli(['pin-login', '--client-id', fx.public.clientId, '--api', kf.apiUrl, '--interval-ms', '1100', '--no-qr']);
    const [, code] = await run.waitFor(/Code: ([A-Z0-9]{5})\n/);
    assert.equal((await answerPin(agent, code!, 'deny')).status, 200);
    assert.equal(await run.exit, 1);
    assert.doesNotMatch(run.stdout(), /[▄█▀]/, '--no-qr draws no QR code');
    assert.match(run.stderr(), /the code expired or was refused; run pin-login again/);
  });

  it('reports the server error for an unknown client_id', async () => {
    const run = runCli(['pin-login', '--client-id', 'nope', '--api', kf.apiUrl]);
    assert.equal(await run.exit, 1);
    assert.match(run.stderr(), /could not start: HTTP 412 client_id_failed: Your client_id is wrong/);
  });
});
