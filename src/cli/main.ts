/**
 * The `s3-sqs-sync` command: the pipeline as a sidecar for services not written in Node, and the
 * replica-queue helpers for scripts. See docs/cli.md.
 */
import { createRequire } from 'node:module';
import { UsageError } from './args.ts';
import { MAIN_HELP } from './help.ts';
import type { CommandIo } from './sync-command.ts';

const USAGE_EXIT_CODE = 2;
const COMMANDS = new Set(['sync', 'parse', 'replica-queue']);

/** The version of the installed package, read by name so that sources and build agree. */
function packageVersion(): string {
  return (createRequire(import.meta.url)('s3-sqs-sync/package.json') as { version: string }).version;
}

const HELD_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

/**
 * Until a listener exists, Node's default for these signals is to die (129/130/143). `sync` takes
 * a moment to load; what arrives meanwhile is kept for it, and handed over by `release()`, which
 * removes these listeners (safe to call twice).
 */
function holdSignals(): () => NodeJS.Signals[] {
  const held: NodeJS.Signals[] = [];
  const hold = (signal: NodeJS.Signals) => {
    held.push(signal);
  };
  for (const signal of HELD_SIGNALS) process.on(signal, hold);
  return () => {
    for (const signal of HELD_SIGNALS) process.off(signal, hold);
    return held.splice(0);
  };
}

/** Runs one command line; resolves with the exit code. Never calls `process.exit` itself. */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'sync': {
        const release = holdSignals();
        try {
          const { runSync } = await import('./sync-command.ts');
          return await runSync(rest, io, release);
        } finally {
          release();
        }
      }
      case 'parse': {
        const { runParse } = await import('./parse-command.ts');
        return runParse(rest, io);
      }
      case 'replica-queue': {
        const { runReplicaQueue } = await import('./replica-command.ts');
        return await runReplicaQueue(rest, io);
      }
      case '--help':
      case '-h':
      case 'help':
        io.stdout(MAIN_HELP);
        return 0;
      case '--version':
      case '-v':
      case 'version':
        io.stdout(`${packageVersion()}\n`);
        return 0;
      case undefined:
        io.stderr.write(MAIN_HELP);
        return USAGE_EXIT_CODE;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      // A known command's own help; for anything else, the list of commands.
      const help = command !== undefined && COMMANDS.has(command) ? ` ${command}` : '';
      io.stderr.write(`s3-sqs-sync: ${error.message}\nRun "s3-sqs-sync${help} --help" for usage.\n`);
      return USAGE_EXIT_CODE;
    }
    io.stderr.write(`s3-sqs-sync: ${(error as Error)?.message ?? String(error)}\n`);
    return 1;
  }
}

const io: CommandIo = {
  env: process.env,
  stdout: (text) => {
    process.stdout.write(text);
  },
  stderr: process.stderr,
};

main(process.argv.slice(2), io).then(
  (code) => {
    // Between here and the exit a signal would meet Node's default (death by the signal): the
    // exit code is decided, so HUP changes nothing and TERM or INT only end the wait for stdout.
    process.on('SIGHUP', () => {});
    process.on('SIGTERM', () => process.exit(code));
    process.on('SIGINT', () => process.exit(code));
    // Exit once the last log line is written: the AWS SDK's keep-alive sockets would hold the process open.
    process.stdout.write('', () => process.exit(code));
  },
  (error: unknown) => {
    process.stderr.write(`s3-sqs-sync: ${String(error)}\n`);
    process.exit(1);
  },
);
