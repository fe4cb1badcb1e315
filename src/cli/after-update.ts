import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { UsageError } from './args.ts';
import { type CliLogger, errorField } from './logger.ts';

/** What an applied update tells the commands that follow it. */
export interface UpdateInfo {
  readonly version: number;
  readonly etag: string;
  readonly target: string;
}

/**
 * `--exec` and `--verify-cmd` get no `AWS_*` variable: they reload or check a local file and need
 * no AWS access, and a hook that prints its environment (or a third-party checker) would put what
 * those variables hold or point at in someone's logs or hands. Many of them are credentials or lead
 * to them (keys and session tokens, the container credential endpoint and its authorization token,
 * the web identity token file and role, profiles and the files that hold them), the SDK adds new
 * ones from time to time, and the rest (region, endpoints) are of no use without them: a prefix
 * keeps up where a list of names would not.
 */
function isWithheld(name: string): boolean {
  return name.toUpperCase().startsWith('AWS_');
}

/** This process's environment without the variables {@link isWithheld} names. */
export function childEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const copy: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(env)) if (!isWithheld(name)) copy[name] = value;
  return copy;
}

/**
 * Signals a detached child's whole process group, so what its shell started goes too, even once
 * the shell itself has exited (a child it left behind is still in the group).
 */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // No such group left: nothing to stop.
  }
}

/**
 * How a command is named in the logs: its program (the first word after any `NAME=value`
 * assignments) and a short hash of the whole text. The rest of the line often carries a token or a
 * password, and the hash still tells two configurations apart.
 */
export function commandLabel(command: string): { readonly program: string; readonly commandHash: string } {
  const words = command.trim().split(/\s+/);
  const program = words.find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word)) ?? '';
  return { program, commandHash: createHash('sha256').update(command).digest('hex').slice(0, 12) };
}

export interface ExecRunnerOptions {
  /**
   * How long one run may take before its process group is sent SIGTERM (then SIGKILL).
   * @defaultValue 60_000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * How long a SIGTERM'd group has to exit before SIGKILL.
   * @defaultValue 2_000
   */
  readonly killGraceMs?: number | undefined;
}

export const DEFAULT_EXEC_TIMEOUT_MS = 60_000;
const DEFAULT_KILL_GRACE_MS = 2_000;

/**
 * Runs `--exec` after updates, one at a time. An update that lands while the command runs is not
 * queued behind it one by one: only the newest waits, and runs once when the current run ends, so
 * a burst of updates costs at most one more run and runs never pile up. A run that outlasts
 * `timeoutMs` is killed, so one hung hook cannot block every later reload.
 */
export class ExecRunner {
  readonly #command: string;
  readonly #label: { readonly program: string; readonly commandHash: string };
  readonly #logger: CliLogger;
  readonly #timeoutMs: number;
  readonly #killGraceMs: number;
  #running: Promise<void> | undefined;
  #child: ChildProcess | undefined;
  #pending: UpdateInfo | undefined;
  #closed = false;

  constructor(command: string, logger: CliLogger, options: ExecRunnerOptions = {}) {
    const timeoutMs = options.timeoutMs ?? DEFAULT_EXEC_TIMEOUT_MS;
    const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
    if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) {
      throw new RangeError(`ExecRunner: timeoutMs must be a positive integer, received ${timeoutMs}`);
    }
    if (!Number.isSafeInteger(killGraceMs) || killGraceMs < 0) {
      throw new RangeError(`ExecRunner: killGraceMs must be a non-negative integer, received ${killGraceMs}`);
    }
    this.#command = command;
    this.#label = commandLabel(command);
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
    this.#killGraceMs = killGraceMs;
  }

  /** Runs the command for `info` now, or once the running one ends (replacing any update already waiting). */
  submit(info: UpdateInfo): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      if (this.#pending !== undefined) this.#logger.debug('exec coalesced', { version: this.#pending.version });
      this.#pending = info;
      return;
    }
    this.#running = this.#loop(info);
  }

  /**
   * Takes no more runs and drops a waiting update; resolves when the running one (if any) has
   * exited. After `waitMs` it stops waiting politely: the run's process group is killed.
   */
  async close(waitMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    const running = this.#running;
    if (running === undefined) return;
    if (!Number.isFinite(waitMs)) {
      await running;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), waitMs);
    });
    try {
      if ((await Promise.race([running, late])) === 'late') {
        this.#logger.warn('exec still running at stop: killing it', { ...this.#label, waitedMs: waitMs });
        this.kill();
        await running;
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Takes no more runs and kills the running one's process group now: SIGTERM, then SIGKILL after
   * the grace; `now: true` sends SIGKILL at once, for a process about to exit that cannot wait.
   */
  kill(now = false): void {
    this.#closed = true;
    this.#pending = undefined;
    const child = this.#child;
    if (child === undefined) return;
    if (now) killGroup(child, 'SIGKILL');
    else this.#terminate(child);
  }

  #terminate(child: ChildProcess): void {
    killGroup(child, 'SIGTERM');
    const escalate = setTimeout(() => killGroup(child, 'SIGKILL'), this.#killGraceMs);
    escalate.unref();
    child.once('exit', () => {
      clearTimeout(escalate);
      // Whatever the shell left in its group gets no grace once the shell is gone.
      killGroup(child, 'SIGKILL');
    });
  }

  async #loop(first: UpdateInfo): Promise<void> {
    let next: UpdateInfo | undefined = first;
    while (next !== undefined) {
      await this.#run(next);
      next = this.#closed ? undefined : this.#pending;
      this.#pending = undefined;
    }
    this.#running = undefined;
  }

  #run(info: UpdateInfo): Promise<void> {
    const started = performance.now();
    this.#logger.info('exec started', { ...this.#label, version: info.version });
    return new Promise((resolve) => {
      // stdout carries the command's log lines, so the child writes to stderr only. Its own
      // process group, so a timeout or a stop can kill what the shell started as well.
      const child = spawn('sh', ['-c', this.#command], {
        stdio: ['ignore', process.stderr, process.stderr],
        detached: true,
        env: {
          ...childEnv(),
          S3_SYNC_VERSION: String(info.version),
          S3_SYNC_ETAG: info.etag,
          S3_SYNC_TARGET: info.target,
        },
      });
      this.#child = child;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        this.#logger.warn('exec timed out: killing it', {
          ...this.#label,
          version: info.version,
          timeoutMs: this.#timeoutMs,
        });
        this.#terminate(child);
      }, this.#timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.#child = undefined;
        resolve();
      };
      child.once('error', (error) => {
        this.#logger.error('exec failed to start', { ...this.#label, err: errorField(error) });
        done();
      });
      child.once('exit', (code, signal) => {
        const fields = {
          ...this.#label,
          version: info.version,
          durationMs: Math.round(performance.now() - started),
        };
        if (code === 0) this.#logger.info('exec finished', { ...fields, exitCode: 0 });
        else this.#logger.warn('exec failed', { ...fields, exitCode: code, signal, ...(timedOut ? { timedOut } : {}) });
        done();
      });
    });
  }
}

/** Where `--signal` goes: a fixed `--pid`, or the number in `--pid-file`, read again each time (the process may restart). */
export type SignalTarget = { readonly pid: number } | { readonly pidFile: string };

/**
 * The signals `--signal` may send: the ones daemons read as "reload", "reopen logs" or similar.
 * Signals that stop or kill (TERM, KILL, STOP, INT, QUIT) are refused: a typo would take the
 * service down on every update.
 */
export const RELOAD_SIGNALS: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/** A pid `--signal` may target: not init (pid 1 would signal the container's init), not this process. */
function refusedPid(pid: number): string | undefined {
  if (pid === 1) return 'pid 1 (init)';
  if (pid === process.pid) return `this process (${pid})`;
  return undefined;
}

/**
 * Checks `--signal` and `--pid` before anything starts; throws a {@link UsageError} (exit 2) for a
 * signal outside {@link RELOAD_SIGNALS} or a pid that must never be signalled.
 */
export function checkSignalConfig(signal: NodeJS.Signals, target: SignalTarget): void {
  if (!RELOAD_SIGNALS.includes(signal)) {
    const names = RELOAD_SIGNALS.map((name) => name.slice(3)).join(', ');
    throw new UsageError(`--signal must be one of ${names}, received ${signal.slice(3)}`);
  }
  if ('pid' in target) {
    const why = refusedPid(target.pid);
    if (why !== undefined) throw new UsageError(`--pid must not be ${why}`);
  }
}

const DECIMAL_PID = /^\d+$/;

/** Sends `signal` to the target process after an update; a failure is logged, never fatal. */
export async function sendSignal(signal: NodeJS.Signals, target: SignalTarget, logger: CliLogger): Promise<void> {
  let pid: number;
  if ('pid' in target) pid = target.pid;
  else {
    let text: string;
    try {
      text = (await readFile(target.pidFile, 'utf8')).trim();
    } catch (error) {
      logger.warn('cannot read the pid file', { pidFile: target.pidFile, err: errorField(error) });
      return;
    }
    // Decimal digits only: Number() would also take `0x1`, `1e0` or `1.0` and signal a process nobody named.
    pid = DECIMAL_PID.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(pid) || pid < 1 || pid > 2 ** 31 - 1) {
      logger.warn('the pid file does not hold a process id', { pidFile: target.pidFile });
      return;
    }
  }
  const why = refusedPid(pid);
  if (why !== undefined) {
    logger.warn('signal refused: the target must not be signalled', { signal, targetPid: pid, reason: why });
    return;
  }
  try {
    process.kill(pid, signal);
    logger.info('signal sent', { signal, targetPid: pid });
  } catch (error) {
    logger.warn('signal failed', { signal, targetPid: pid, err: errorField(error) });
  }
}
