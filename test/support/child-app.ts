/**
 * The real `accessbot` command as a child process (`node --import tsx src/cli.ts <command>`), for faults that
 * need a whole process to die (SIGKILL) or to be asked to stop (SIGTERM). Its JSON log lines are kept, and its
 * HTTP port is read from the "accessbot started" line (PORT=0 picks a free one).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildApp {
  proc: ChildProcess;
  pid: number;
  /** The port it listens on, once it logged that it started. */
  port: number;
  baseUrl: string;
  output(): string;
  /** Log lines (parsed JSON) so far. */
  lines(): Record<string, unknown>[];
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when the process has exited, with its code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export interface SpawnOptions {
  /** Extra `--import` modules, loaded after tsx (test/support paths, relative to the repository root). */
  preload?: string[];
  startTimeoutMs?: number;
}

export async function spawnApp(command: 'start' | 'web' | 'worker', env: Record<string, string>, options: SpawnOptions = {}): Promise<ChildApp> {
  const imports = ['tsx', ...(options.preload ?? []).map((p) => `./${p}`)].flatMap((m) => ['--import', m]);
  const proc = spawn(process.execPath, [...imports, 'src/cli.ts', command], {
    cwd: ROOT,
    // Only what the app reads, plus PATH: nothing of the test runner's environment leaks into the child.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const parsed: Record<string, unknown>[] = [];
  let partial = '';
  const waiters: { match: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop() ?? '';
    for (const raw of parts) {
      let line: Record<string, unknown>;
      try {
        line = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        continue;
      }
      parsed.push(line);
      for (const w of [...waiters]) {
        if (w.match(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  // If the test process ends without its afterAll (a hook timeout, a crash), the app goes with it.
  const reap = () => proc.kill('SIGKILL');
  process.once('exit', reap);
  void exited.then(() => process.removeListener('exit', reap));

  const waitForLog = (match: (line: Record<string, unknown>) => boolean, timeoutMs = 20_000) => {
    const seen = parsed.find(match);
    if (seen) return Promise.resolve(seen);
    return new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; output:\n${text.slice(-4000)}`)), timeoutMs);
      waiters.push({ match, resolve: (l) => (clearTimeout(timer), resolve(l)) });
      void exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`process exited (code ${code}, signal ${signal}) before the log line; output:\n${text.slice(-4000)}`));
      });
    });
  };

  const started = await waitForLog((l) => l.msg === 'accessbot started', options.startTimeoutMs ?? 30_000);
  const port = Number(started.port);
  return {
    proc,
    pid: proc.pid!,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    output: () => text,
    lines: () => parsed,
    waitForLog,
    exited,
    kill: (signal) => {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
    },
  };
}

/** Kills the child if it is still running and waits for it to go. */
export async function killApp(app: ChildApp | null | undefined): Promise<void> {
  if (!app) return;
  app.kill('SIGKILL');
  await app.exited;
}
