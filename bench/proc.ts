/**
 * Processes under measurement: start a child pinned to one core, wait until it says it
 * listens, and read its CPU time and resident memory from /proc (Linux).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Whether `taskset` exists here: without it nothing is pinned and the table says so. */
export const hasTaskset = spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;

/** Clock ticks per second for /proc/PID/stat (USER_HZ, almost always 100). */
const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** Pins this process (the load generator) to a core, when taskset exists. */
export function pinSelf(core: number): boolean {
  if (!hasTaskset) return false;
  return spawnSync('taskset', ['-acp', String(core), String(process.pid)], { stdio: 'ignore' }).status === 0;
}

export { freePort } from '../test/helpers/keyfob.js';

/** Children still running, killed if the bench itself exits early. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

export interface Child {
  proc: ChildProcess;
  pid: number;
  /** Everything the child wrote, for error messages. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts `node args...` pinned to `core` (taskset execs node, so the pid is node's) and
 * resolves once a stdout line matches `ready`. Rejects with the child's output if it
 * exits first or takes longer than 20 s.
 */
export async function startPinned(args: string[], opts: { core: number; env?: NodeJS.ProcessEnv; ready: RegExp; cwd?: string }): Promise<Child> {
  const [cmd, argv] = hasTaskset ? ['taskset', ['-c', String(opts.core), process.execPath, ...args]] : [process.execPath, args];
  return startChild(cmd as string, argv as string[], opts);
}

/** Starts `cmd argv...` and resolves once a stdout line matches `ready` (see startPinned). */
export async function startChild(cmd: string, argv: string[], opts: { env?: NodeJS.ProcessEnv; ready: RegExp; cwd?: string; startS?: number }): Promise<Child> {
  const startS = opts.startS ?? 20;
  const proc = spawn(cmd, argv, { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let out = '';
  const onData = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 20_000) out = out.slice(-20_000);
  };
  proc.stdout!.on('data', onData);
  proc.stderr!.on('data', onData);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not start in ${startS} s:\n${out}`)), startS * 1000);
    const exited = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`child exited with code ${code}:\n${out}`));
    };
    const check = () => {
      if (!opts.ready.test(out)) return;
      clearTimeout(timer);
      proc.off('exit', exited);
      proc.stdout!.off('data', check);
      resolve();
    };
    proc.once('exit', exited);
    proc.stdout!.on('data', check);
  });
  return {
    proc,
    pid: proc.pid!,
    output: () => out,
    stop: () =>
      new Promise<void>((resolve) => {
        if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
        const force = setTimeout(() => proc.kill('SIGKILL'), 5000);
        proc.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        proc.kill('SIGTERM');
      }),
  };
}

/** utime + stime of a process (all its threads), in milliseconds, from /proc/PID/stat. */
export function cpuTimeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name (field 2) may hold spaces; the fields after the last ')' are fixed.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return ((utime + stime) * 1000) / CLK_TCK;
}

/** Resident set size of a process in bytes, from /proc/PID/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m ? Number(m[1]) * 1024 : 0;
}
