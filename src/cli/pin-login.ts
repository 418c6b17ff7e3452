import { Command, Option } from 'commander';
import qrcode from 'qrcode-terminal';

/**
 * `keyfob pin-login`: a tiny device for the V1 PIN flow (reference §7), run from a terminal.
 * It does what a TV add-on does: asks GET /oauth/pin for a code, shows the code, the URL
 * and a QR code of the pre-filled link, polls GET /oauth/pin/{user_code} every `interval`
 * seconds until it gets a token, and prints the token. It is also the manual test of the flow.
 */

const CLIENT_NAME = 'keyfob-pin-login';
const CLIENT_VERSION = '0.1.0';

interface InitBody {
  result: string;
  device_code?: string;
  user_code?: string;
  verification_uri?: string;
  verification_url?: string;
  expires_in?: number;
  interval?: number;
}

interface PollBody extends InitBody {
  message?: string;
  access_token?: string;
  error?: string;
}

export class PinLoginError extends Error {}

interface Options {
  clientId: string;
  api: string;
  redirect?: string;
  qr: boolean;
  json?: boolean;
  intervalMs?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getJson(url: URL): Promise<{ status: number; body: PollBody; retryAfterS: number | null }> {
  const res = await fetch(url, { headers: { accept: 'application/json', 'user-agent': `${CLIENT_NAME}/${CLIENT_VERSION}` } });
  const text = await res.text();
  let body: PollBody;
  try {
    body = JSON.parse(text) as PollBody;
  } catch {
    throw new PinLoginError(`the server answered HTTP ${res.status} with something that is not JSON`);
  }
  const ra = Number(res.headers.get('retry-after'));
  return { status: res.status, body, retryAfterS: Number.isFinite(ra) && ra > 0 ? ra : null };
}

function describeError(status: number, body: PollBody): string {
  return `HTTP ${status}${body.error ? ` ${body.error}` : ''}${body.message ? `: ${body.message}` : ''}`;
}

/** A one-character spinner on stderr, only when stderr is a terminal (pipes get no noise). */
function spinner(): { tick(text: string): void; stop(): void } {
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const tty = process.stderr.isTTY;
  return {
    tick(text) {
      if (!tty) return;
      process.stderr.write(`\r${frames[i++ % frames.length]} ${text}`);
    },
    stop() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

export async function runPinLogin(opts: Options): Promise<string> {
  const api = opts.api.replace(/\/+$/, '');
  const withClient = (path: string): URL => {
    const url = new URL(`${api}${path}`);
    url.searchParams.set('client_id', opts.clientId);
    url.searchParams.set('app-name', CLIENT_NAME);
    url.searchParams.set('app-version', CLIENT_VERSION);
    return url;
  };

  const initUrl = withClient('/oauth/pin');
  if (opts.redirect) initUrl.searchParams.set('redirect', opts.redirect);
  const init = await getJson(initUrl);
  if (init.status !== 200 || !init.body.user_code) throw new PinLoginError(`could not start: ${describeError(init.status, init.body)}`);
  const code = init.body.user_code;
  // §7.1: older servers send only verification_url.
  const page = init.body.verification_uri ?? init.body.verification_url ?? '';
  const link = `${page.replace(/\/+$/, '')}/${code}`;
  const out = (s: string) => process.stdout.write(`${s}\n`);
  if (!opts.json) {
    out(`Open ${page} and enter the code:`);
    out('');
    out(`    Code: ${code}`);
    out('');
    out(`Or open ${link}${opts.qr ? ' or scan:' : ''}`);
    if (opts.qr) qrcode.generate(link, { small: true }, (qr) => out(qr));
  } else {
    out(JSON.stringify({ user_code: code, verification_uri: page, verification_uri_complete: link }));
  }

  let waitMs = opts.intervalMs !== undefined ? Number(opts.intervalMs) : (init.body.interval ?? 5) * 1000;
  if (!Number.isFinite(waitMs) || waitMs < 0) throw new PinLoginError('--interval-ms must be a number of milliseconds');
  const deadline = Date.now() + (init.body.expires_in ?? 900) * 1000;
  const spin = spinner();
  try {
    while (Date.now() < deadline) {
      // Tick the spinner while waiting, then poll once.
      const until = Date.now() + waitMs;
      while (Date.now() < until) {
        spin.tick('Waiting for approval…');
        await sleep(Math.min(100, Math.max(0, until - Date.now())));
      }
      const poll = await getJson(withClient(`/oauth/pin/${encodeURIComponent(code)}`));
      if (poll.status === 429) {
        waitMs = Math.max(waitMs, (poll.retryAfterS ?? 5) * 1000);
        continue;
      }
      if (poll.status !== 200) throw new PinLoginError(`polling failed: ${describeError(poll.status, poll.body)}`);
      const b = poll.body;
      // §7.2: a body with device_code means the code is gone (expired, denied or used).
      if (b.device_code !== undefined) throw new PinLoginError('the code expired or was refused; run pin-login again');
      if (b.result === 'OK' && typeof b.access_token === 'string') return b.access_token;
      // Legacy "Slow down" (§7.2): back off like well-behaved clients do, never give up on it.
      if (b.message === 'Slow down') waitMs = Math.min(Math.max(waitMs * 2, 1000), 30_000);
    }
  } finally {
    spin.stop();
  }
  throw new PinLoginError('the code expired before it was approved; run pin-login again');
}

export function registerPinLoginCommand(program: Command): void {
  const cmd = program
    .command('pin-login')
    .description('sign in like a TV or CLI does: show a PIN, wait for approval on the web, print the access token')
    .requiredOption('--client-id <id>', 'client_id of a registered app')
    .requiredOption('--api <url>', 'the api origin, e.g. http://127.0.0.1:8081')
    .option('--redirect <url>', 'where the browser goes after approval (must be registered for the app)')
    .option('--no-qr', 'do not draw a QR code')
    .option('--json', 'print machine-readable JSON lines');
  // Tests poll faster than the server's advertised interval.
  cmd.addOption(new Option('--interval-ms <ms>', 'poll interval in milliseconds').hideHelp());
  cmd.action(async (opts: Options) => {
    try {
      const token = await runPinLogin(opts);
      if (opts.json) process.stdout.write(`${JSON.stringify({ access_token: token })}\n`);
      else process.stdout.write(`Signed in. Access token:\n${token}\n`);
    } catch (err) {
      if (err instanceof PinLoginError) {
        process.stderr.write(`keyfob pin-login: ${err.message}\n`);
        process.exit(1);
      }
      if (err instanceof TypeError && /fetch failed/.test(err.message)) {
        process.stderr.write(`keyfob pin-login: cannot reach ${opts.api}\n`);
        process.exit(1);
      }
      throw err;
    }
  });
}
