import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { type CliLogger, errorField } from './logger.ts';

/** What an applied update tells the commands that follow it. */
export interface UpdateInfo {
  readonly version: number;
  readonly etag: string;
  readonly target: string;
}

/**
 * Runs `--exec` after updates, one at a time. An update that lands while the command runs is not
 * queued behind it one by one: only the newest waits, and runs once when the current run ends, so
 * a burst of updates costs at most one more run and runs never pile up.
 */
export class ExecRunner {
  readonly #command: string;
  readonly #logger: CliLogger;
  #running: Promise<void> | undefined;
  #pending: UpdateInfo | undefined;
  #closed = false;

  constructor(command: string, logger: CliLogger) {
    this.#command = command;
    this.#logger = logger;
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

  /** Takes no more runs; resolves when the running one (if any) has exited. A waiting update is dropped. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#pending = undefined;
    await this.#running;
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
    this.#logger.info('exec started', { command: this.#command, version: info.version });
    return new Promise((resolve) => {
      // stdout carries the command's log lines, so the child writes to stderr only.
      const child = spawn('sh', ['-c', this.#command], {
        stdio: ['ignore', process.stderr, process.stderr],
        env: {
          ...process.env,
          S3_SYNC_VERSION: String(info.version),
          S3_SYNC_ETAG: info.etag,
          S3_SYNC_TARGET: info.target,
        },
      });
      child.once('error', (error) => {
        this.#logger.error('exec failed to start', { command: this.#command, err: errorField(error) });
        resolve();
      });
      child.once('close', (code, signal) => {
        const fields = {
          command: this.#command,
          version: info.version,
          durationMs: Math.round(performance.now() - started),
        };
        if (code === 0) this.#logger.info('exec finished', { ...fields, exitCode: 0 });
        else this.#logger.warn('exec failed', { ...fields, exitCode: code, signal });
        resolve();
      });
    });
  }
}

/** Where `--signal` goes: a fixed `--pid`, or the number in `--pid-file`, read again each time (the process may restart). */
export type SignalTarget = { readonly pid: number } | { readonly pidFile: string };

/** Sends `signal` to the target process after an update; a failure is logged, never fatal. */
export async function sendSignal(signal: NodeJS.Signals, target: SignalTarget, logger: CliLogger): Promise<void> {
  let pid: number;
  if ('pid' in target) pid = target.pid;
  else {
    try {
      pid = Number((await readFile(target.pidFile, 'utf8')).trim());
    } catch (error) {
      logger.warn('cannot read the pid file', { pidFile: target.pidFile, err: errorField(error) });
      return;
    }
    if (!Number.isSafeInteger(pid) || pid < 1) {
      logger.warn('the pid file does not hold a process id', { pidFile: target.pidFile });
      return;
    }
  }
  try {
    process.kill(pid, signal);
    logger.info('signal sent', { signal, pid });
  } catch (error) {
    logger.warn('signal failed', { signal, pid, err: errorField(error) });
  }
}
