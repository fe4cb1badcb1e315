import { spawn } from 'node:child_process';
import { ValidationError } from 's3-sqs-sync';

/** Keep this much of the command's output for the error message: enough to say why, never unbounded. */
const MAX_OUTPUT_CHARS = 4096;

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
}

/**
 * Runs the verify command on `candidatePath`; resolves when it exits 0, rejects with a
 * `ValidationError` (`ERR_VALIDATION`) quoting its output when it exits otherwise, is killed, or
 * outlasts `timeoutMs`. Its process group is killed on timeout so a shell's children go too.
 */
export function runVerifyCommand(options: VerifyCommandOptions, candidatePath: string): Promise<void> {
  const { command, timeoutMs, target } = options;
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', verifyScript(command), 's3-sqs-sync-verify', candidatePath], {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, S3_SYNC_CANDIDATE: candidatePath, S3_SYNC_TARGET: target },
    });
    let output = '';
    const collect = (chunk: Buffer) => {
      if (output.length < MAX_OUTPUT_CHARS) output = (output + chunk.toString('utf8')).slice(0, MAX_OUTPUT_CHARS);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }, timeoutMs);
    const refuse = (why: string, cause?: unknown) => {
      const detail = output.trim();
      const message = `--verify-cmd refused the update: ${why}${detail === '' ? '' : `: ${detail}`}`;
      reject(
        new ValidationError(message, {
          path: target,
          issues: [{ message }],
          ...(cause === undefined ? {} : { cause }),
        }),
      );
    };
    child.once('error', (error) => {
      clearTimeout(timer);
      refuse('it could not be started', error);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) refuse(`it ran longer than ${timeoutMs} ms and was killed`);
      else if (code === 0) resolve();
      else if (code !== null) refuse(`it exited with code ${code}`);
      else refuse(`it was killed by ${signal}`);
    });
  });
}
