import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));

/** One JSON log line of the command. */
export interface LogLine {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

/** The command running from its TypeScript sources as a child process, with its output collected. */
export interface CliProcess {
  readonly child: ChildProcess;
  readonly lines: LogLine[];
  stderr(): string;
  /** Resolves with the first log line (already written or still to come) that `match` accepts. */
  waitForLine(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Resolves when `count` lines match. */
  waitForCount(match: (line: LogLine) => boolean, count: number, timeoutMs?: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

// S3_SQS_SYNC_CLI_BUILT=1 runs the built command (dist/cli.js, after `npm run build`) instead.
const ENTRY =
  process.env.S3_SQS_SYNC_CLI_BUILT === '1'
    ? ['dist/cli.js']
    : ['--import', './test/support/source-hooks.mjs', 'src/cli/main.ts'];

/** Starts `s3-sqs-sync <args>` from the sources (`node --import` hooks map the package to `src/`). */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [...ENTRY, ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let stdoutRest = '';
  let stderr = '';
  let closed = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (stdoutRest + chunk).split('\n');
    stdoutRest = parts.pop() ?? '';
    for (const part of parts) {
      if (part.trim() === '') continue;
      try {
        lines.push(JSON.parse(part) as LogLine);
      } catch {
        lines.push({ level: 0, time: 0, msg: part });
      }
    }
    for (const waiter of waiters) waiter();
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    // 'close', not 'exit': every line the command wrote has been read by then.
    child.once('close', (code, signal) => {
      closed = true;
      for (const waiter of waiters) waiter();
      resolve({ code, signal });
    });
  });
  const describe = () => `\nstdout:\n${lines.map((line) => JSON.stringify(line)).join('\n')}\nstderr:\n${stderr}`;
  const waitForCount = (match: (line: LogLine) => boolean, count: number, timeoutMs = 15_000) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (lines.filter(match).length >= count) {
          finish();
          resolve();
        } else if (closed) {
          finish();
          reject(new Error(`the command exited (${child.exitCode}) first${describe()}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching line after ${timeoutMs} ms${describe()}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForCount,
    async waitForLine(match, timeoutMs) {
      await waitForCount(match, 1, timeoutMs);
      return lines.find(match) as LogLine;
    },
    exited,
  };
}

/** The environment that points the AWS SDK at the emulator. */
export function emulatorEnv(endpoint: string): NodeJS.ProcessEnv {
  return {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_S3: endpoint,
    AWS_ENDPOINT_URL_SQS: endpoint,
    AWS_ENDPOINT_URL_SNS: endpoint,
  };
}
