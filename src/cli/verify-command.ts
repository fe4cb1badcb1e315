import { spawn } from 'node:child_process';
import { ClosedError, ValidationError } from 's3-sqs-sync';
import { childEnv, killGroup } from './after-update.ts';
import type { CliLogger } from './logger.ts';

/**
 * Keep this much of the command's output, for a debug line only: a refusing checker often prints
 * the offending file, and that file may carry secrets, so the output never reaches the error.
 */
const MAX_OUTPUT_CHARS = 1024;

/**
 * The shell text for `--verify-cmd`: each `{path}` becomes `"$1"`, and the candidate's path is
 * passed to `sh -c` as `$1`. The path is never pasted into the shell string, so a file name with
 * spaces, quotes or `$(…)` in it is one argument and nothing else.
 */
export function verifyScript(command: string): string {
  return command.includes('{path}') ? command.replaceAll('{path}', '"$1"') : `${command} "$1"`;
}

export interface VerifyCommandOptions {
  /** The command as given to `--verify-cmd`. */
  readonly command: string;
  readonly timeoutMs: number;
  /** The file the candidate will replace (for the command's environment and the error). */
  readonly target: string;
  /** Where the command's output goes (debug level, truncated). */
  readonly logger?: CliLogger | undefined;
}

/**
 * Runs the verify command on `candidatePath`; resolves when it exits 0, rejects with a
 * `ValidationError` (`ERR_VALIDATION`) naming the exit code or signal when it exits otherwise, is
 * killed, or outlasts `timeoutMs`. When `signal` aborts it rejects with a `ClosedError`
 * (`ERR_CLOSED`) instead: a stop says nothing about the file, and the pipeline counts a refusal as
 * permanent and deletes the message, while a closed store's failure hands the message back for
 * the next process. Its process group is killed on timeout and on abort so a shell's children go
 * too. It settles on the shell's exit, not on its pipes closing: a grandchild that left the group
 * may hold the pipes open for ever.
 */
export function runVerifyCommand(
  options: VerifyCommandOptions,
  candidatePath: string,
  signal?: AbortSignal,
): Promise<void> {
  const { command, timeoutMs, target, logger } = options;
  return new Promise((resolve, reject) => {
    const refuse = (why: string, cause?: unknown) => {
      const message = `--verify-cmd refused the update: ${why}`;
      return new ValidationError(message, {
        path: target,
        issues: [{ message }],
        ...(cause === undefined ? {} : { cause }),
      });
    };
    const stopping = (why: string) =>
      new ClosedError(`--verify-cmd did not finish: ${why}`, {
        path: target,
        ...(signal?.reason === undefined ? {} : { cause: signal.reason }),
      });
    if (signal?.aborted === true) {
      reject(stopping('the command is stopping'));
      return;
    }
    const child = spawn('sh', ['-c', verifyScript(command), 's3-sqs-sync-verify', candidatePath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...childEnv(), S3_SYNC_CANDIDATE: candidatePath, S3_SYNC_TARGET: target },
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT_CHARS) output = (output + chunk.toString('utf8')).slice(0, MAX_OUTPUT_CHARS);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let settled = false;
    const settle = (error?: ValidationError | ClosedError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      child.stdout.destroy();
      child.stderr.destroy();
      const detail = output.trim();
      if (detail !== '') logger?.debug('verify output', { output: detail });
      if (error === undefined) resolve();
      else reject(error);
    };
    const timer = setTimeout(() => {
      killGroup(child, 'SIGKILL');
      settle(refuse(`it ran longer than ${timeoutMs} ms and was killed`));
    }, timeoutMs);
    const onAbort = () => {
      killGroup(child, 'SIGKILL');
      settle(stopping('the command is stopping, so it was killed'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    child.once('error', (error) => settle(refuse('it could not be started', error)));
    child.once('exit', (code, exitSignal) => {
      if (code === 0) settle();
      else if (code !== null) settle(refuse(`it exited with code ${code}`));
      else settle(refuse(`it was killed by ${exitSignal}`));
    });
  });
}
