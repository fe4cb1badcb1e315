import { execFileSync } from 'node:child_process';
import { constants } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SilentServer, startSilentServer } from '../support/silent-server.ts';
import { type CliProcess, type LogLine, runCli } from './run-cli.ts';

let dir: string;
let cli: CliProcess | undefined;
let silent: SilentServer | undefined;
const handles: FileHandle[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-signals-'));
});
afterEach(async () => {
  if (cli !== undefined && cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
  cli = undefined;
  await silent?.close();
  silent = undefined;
  for (const handle of handles.splice(0)) await handle.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;
const ENV = { AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };

/** Resolves with how the command ended, or rejects when it is still running after `ms`. */
function exitWithin(process: CliProcess, ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running ${ms} ms after the signal`)), ms);
    void process.exited.then((result) => {
      clearTimeout(timer);
      resolve(result);
    });
  });
}

/**
 * A schema file that is a FIFO: the command's read of it blocks until the test closes its end, so
 * the test knows the command is inside its start (past where its signal handlers go) and holds it
 * there. Closed only once the stop is logged: Node's exit waits for the thread blocked on the read.
 */
async function heldSchema(): Promise<{ path: string; reading: Promise<FileHandle> }> {
  const path = join(dir, 'schema.json');
  execFileSync('mkfifo', [path]);
  // Opening a FIFO for writing completes once a reader has opened it: that is the event to wait on.
  const reading = open(path, constants.O_WRONLY).then((handle) => {
    handles.push(handle);
    return handle;
  });
  return { path, reading };
}

function syncHeldAtSchema(schema: string): CliProcess {
  return runCli(
    [
      'sync',
      '--queue-url',
      'http://127.0.0.1:9/000000000000/q',
      '--source',
      's3://bucket/v0/registry.json',
      '--target',
      join(dir, 'registry.json'),
      '--schema',
      schema,
    ],
    ENV,
  );
}

describe('s3-sqs-sync sync: signals during the start', () => {
  it('ignores SIGHUP and stops cleanly on SIGTERM while the start is still reading its schema', async () => {
    const schema = await heldSchema();
    cli = syncHeldAtSchema(schema.path);
    await schema.reading;
    cli.child.kill('SIGHUP');
    await cli.waitForLine(byMsg('SIGHUP ignored: nothing to reload'));
    cli.child.kill('SIGTERM');
    await cli.waitForLine(byMsg('stopping'));
    await (await schema.reading).close();
    expect(await exitWithin(cli, 10_000)).toEqual({ code: 0, signal: null });
    expect(cli.lines.find(byMsg('stopping'))).toMatchObject({ reason: 'SIGTERM' });
    expect(cli.lines.some(byMsg('sync started'))).toBe(false);
  });

  it('stops on SIGINT before anything started, with exit 0', async () => {
    const schema = await heldSchema();
    cli = syncHeldAtSchema(schema.path);
    await schema.reading;
    cli.child.kill('SIGINT');
    await cli.waitForLine(byMsg('stopping'));
    await (await schema.reading).close();
    expect(await exitWithin(cli, 10_000)).toEqual({ code: 0, signal: null });
    expect(cli.lines.find(byMsg('stopping'))).toMatchObject({ reason: 'SIGINT' });
  });

  it('exits 0 on SIGTERM while its first SQS call (the replica check) gets no answer', async () => {
    silent = await startSilentServer();
    cli = runCli(
      [
        'sync',
        '--queue-url',
        `${silent.endpoint}/000000000000/q`,
        '--source',
        's3://bucket/v0/registry.json',
        '--target',
        join(dir, 'registry.json'),
      ],
      { ...ENV, AWS_ENDPOINT_URL_SQS: silent.endpoint },
    );
    await silent.connected;
    cli.child.kill('SIGTERM');
    expect(await exitWithin(cli, 10_000)).toEqual({ code: 0, signal: null });
    expect(cli.lines.find(byMsg('stopping'))).toMatchObject({ reason: 'SIGTERM' });
  });
});
