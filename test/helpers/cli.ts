import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The compiled CLI (npm test builds it first). */
export const CLI = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'cli', 'index.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `keyfob ARGS` to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, KEYFOB_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Starts `keyfob ARGS` and resolves once stdout contains `ready`; the caller kills it. */
export function startCli(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ child: ChildProcess; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, KEYFOB_LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`keyfob did not get ready in time:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      if (ready.test(out)) {
        clearTimeout(timer);
        resolve({ child, output: () => out });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`keyfob exited with ${code} before it was ready:\n${out}`));
    });
  });
}

/**
 * Waits until a server started with KEYFOB_LOG_LEVEL=info has logged Fastify's "incoming
 * request" line for `count` requests of `method` `path`: those requests are being handled,
 * so a SIGTERM from now on must let them finish (a request the server has not read yet is
 * refused, rightly). Polls `output`; rejects after `timeoutMs`.
 */
export async function waitForIncoming(output: () => string, method: string, path: string, count: number, timeoutMs = 20_000): Promise<void> {
  const line = new RegExp(`"method":"${method}","url":"${path.replace(/[/.?]/g, '\\$&')}"[^\n]*"msg":"incoming request"`, 'g');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = output().match(line)?.length ?? 0;
    if (seen >= count) return;
    if (Date.now() > deadline) throw new Error(`the server logged ${seen} of ${count} ${method} ${path} requests in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** The exit code `exited` brings, or a message saying the process was still running after `ms`. */
export function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null | string> {
  const late = new Promise<string>((r) => setTimeout(() => r(`still running ${ms / 1000} s after the last answer`), ms).unref());
  return Promise.race([exited, late]);
}

export function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
    child.kill(signal);
  });
}
