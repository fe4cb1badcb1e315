import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQueue, type Emulator, sendMessages, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { startSilentServer } from '../support/silent-server.ts';
import { type CliProcess, emulatorEnv, type LogLine, runCli } from './run-cli.ts';

const KEY = 'v0/registry.json';
const SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  required: ['servers'],
  properties: { servers: { type: 'array', items: { type: 'object', required: ['name'] } } },
};

let emu: Emulator;
let dir: string;
let bucket: string;
let queueUrl: string;
let cli: CliProcess | undefined;
let seq = 0;

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-cli-'));
  bucket = emu.uniqueName('bucket');
  await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  queueUrl = (await createQueue(emu)).url;
});
afterEach(async () => {
  if (cli !== undefined && cli.child.exitCode === null && cli.child.signalCode === null) {
    cli.child.kill('SIGKILL');
    await cli.exited;
  }
  cli = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** Uploads `body` and sends the S3 event the emulator does not send itself. */
async function publish(body: string): Promise<void> {
  const { ETag } = await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: body }));
  seq += 1;
  await sendMessages(emu, queueUrl, [s3EventBody({ bucket, key: KEY, eTag: ETag ?? '', sequencer: sequencer(seq) })]);
}

const registry = (...names: string[]) => JSON.stringify({ servers: names.map((name) => ({ name })) });
const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;

async function getHealth(
  port: number,
  path = '/health',
): Promise<{ status: number; body: { state: string; version: number } }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: (await response.json()) as { state: string; version: number } };
}

describe('s3-sqs-sync sync', () => {
  it('fetches and serves the object though its SQS endpoint never answers, and stops with exit 0', async () => {
    const silent = await startSilentServer();
    try {
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: registry('served') }));
      const target = join(dir, 'registry.json');
      cli = runCli(
        [
          'sync',
          '--source',
          `s3://${bucket}/${KEY}`,
          '--queue-url',
          `${silent.endpoint}/000000000000/q`,
          '--target',
          target,
        ],
        { ...emulatorEnv(emu.endpoint), AWS_ENDPOINT_URL_SQS: silent.endpoint },
      );
      await cli.waitForLine(byMsg('sync started'));
      expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ servers: [{ name: 'served' }] });
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    } finally {
      await silent.close();
    }
  });

  it('replaces the file on each update, runs --exec once per update, refuses a bad one and exits 0 on SIGTERM', async () => {
    await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: registry('a') }));
    const target = join(dir, 'registry.json');
    const execLog = join(dir, 'exec.log');
    const schema = join(dir, 'schema.json');
    await writeFile(schema, JSON.stringify(SCHEMA));
    cli = runCli(
      [
        'sync',
        '--source',
        `s3://${bucket}/${KEY}`,
        '--queue-url',
        queueUrl,
        '--target',
        target,
        '--schema',
        schema,
        '--exec',
        `echo "$S3_SYNC_VERSION $S3_SYNC_TARGET" >> '${execLog}'`,
        '--health-port',
        '0',
      ],
      emulatorEnv(emu.endpoint),
    );
    const { port } = (await cli.waitForLine(byMsg('health server listening'))) as LogLine & { port: number };
    await cli.waitForLine(byMsg('sync started'));
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ servers: [{ name: 'a' }] });
    await cli.waitForCount(byMsg('exec finished'), 1);
    expect(await getHealth(port)).toMatchObject({ status: 200, body: { state: 'ready', version: 1 } });

    await publish(registry('a', 'b'));
    await cli.waitForLine((line) => line.msg === 'update applied' && line.version === 2);
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ servers: [{ name: 'a' }, { name: 'b' }] });
    await cli.waitForCount(byMsg('exec finished'), 2);

    await publish(JSON.stringify({ servers: [{ title: 'no name' }] }));
    const failed = await cli.waitForLine(byMsg('update failed'));
    expect(failed).toMatchObject({ level: 50, permanent: true, err: { code: 'ERR_VERIFY_FAILED' } });
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ servers: [{ name: 'a' }, { name: 'b' }] });
    expect(await getHealth(port)).toMatchObject({ status: 503, body: { state: 'degraded', version: 2 } });
    // The last good file is still served: the readiness endpoint keeps the pod in rotation.
    expect(await getHealth(port, '/ready')).toMatchObject({ status: 200, body: { state: 'degraded' } });

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/^s3_sync_updates/m);

    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.lines.some(byMsg('sync stopped'))).toBe(true);
    expect((await readFile(execLog, 'utf8')).trim().split('\n')).toEqual([`1 ${target}`, `2 ${target}`]);
  });

  it('gives --exec the version /health reports: the local file found at start is version 1', async () => {
    const target = join(dir, 'registry.json');
    const execLog = join(dir, 'exec.log');
    await writeFile(target, registry('local'));
    await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: registry('newer') }));
    cli = runCli(
      [
        'sync',
        '--source',
        `s3://${bucket}/${KEY}`,
        '--queue-url',
        queueUrl,
        '--target',
        target,
        '--exec',
        `echo "$S3_SYNC_VERSION" >> '${execLog}'`,
        '--health-port',
        '0',
      ],
      emulatorEnv(emu.endpoint),
    );
    const { port } = (await cli.waitForLine(byMsg('health server listening'))) as LogLine & { port: number };
    await cli.waitForCount(byMsg('exec finished'), 1);
    expect(JSON.parse(await readFile(target, 'utf8'))).toEqual({ servers: [{ name: 'newer' }] });
    expect(await readFile(execLog, 'utf8')).toBe('2\n');
    expect(await getHealth(port)).toMatchObject({ body: { version: 2 } });
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('refuses an update that --verify-cmd rejects, keeping the file (raw format)', async () => {
    await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: 'listen 80; # good\n' }));
    const target = join(dir, 'site.conf');
    cli = runCli(
      [
        'sync',
        '--source',
        `s3://${bucket}/${KEY}`,
        '--queue-url',
        queueUrl,
        '--target',
        target,
        '--format',
        'raw',
        '--verify-cmd',
        'grep -q good {path}',
      ],
      emulatorEnv(emu.endpoint),
    );
    await cli.waitForLine(byMsg('sync started'));
    expect(await readFile(target, 'utf8')).toBe('listen 80; # good\n');

    await publish('listen 81; # bad\n');
    const failed = await cli.waitForLine(byMsg('update failed'));
    expect(failed).toMatchObject({ err: { code: 'ERR_VERIFY_FAILED', cause: { code: 'ERR_VALIDATION' } } });
    expect(await readFile(target, 'utf8')).toBe('listen 80; # good\n');

    await publish('listen 82; # good again\n');
    await cli.waitForLine((line) => line.msg === 'update applied' && line.version === 2);
    expect(await readFile(target, 'utf8')).toBe('listen 82; # good again\n');
    cli.child.kill('SIGINT');
    expect((await cli.exited).code).toBe(0);
  });

  it('checks against a draft-06 --schema (also when run built: S3_SQS_SYNC_CLI_BUILT=1)', async () => {
    await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: registry('a') }));
    const schema = join(dir, 'schema.json');
    await writeFile(schema, JSON.stringify({ ...SCHEMA, $schema: 'http://json-schema.org/draft-06/schema#' }));
    const target = join(dir, 'registry.json');
    cli = runCli(
      ['sync', '--source', `s3://${bucket}/${KEY}`, '--queue-url', queueUrl, '--target', target, '--schema', schema],
      emulatorEnv(emu.endpoint),
    );
    await cli.waitForLine(byMsg('sync started'));
    expect(await readFile(target, 'utf8')).toBe(registry('a'));
    await publish(JSON.stringify({ servers: [{ title: 'no name' }] }));
    const failed = await cli.waitForLine(byMsg('update failed'));
    expect(failed).toMatchObject({ err: { code: 'ERR_VERIFY_FAILED', cause: { code: 'ERR_VALIDATION' } } });
    expect(await readFile(target, 'utf8')).toBe(registry('a'));
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it('exits 1 with a clear message when the source cannot be fetched and nothing is served', async () => {
    cli = runCli(
      ['sync', '--source', `s3://${bucket}/missing.json`, '--queue-url', queueUrl, '--target', join(dir, 'r.json')],
      emulatorEnv(emu.endpoint),
    );
    expect((await cli.exited).code).toBe(1);
    expect(cli.lines.find(byMsg('start failed: nothing could be served'))).toMatchObject({
      level: 60,
      err: { code: 'ERR_NOT_FOUND' },
    });
  });

  it('exits 1 when the queue cannot be read at start', async () => {
    cli = runCli(
      [
        'sync',
        '--allow-bucket',
        bucket,
        '--queue-url',
        `${emu.endpoint}/000000000000/no-such-queue`,
        '--target',
        join(dir, 'r.json'),
      ],
      emulatorEnv(emu.endpoint),
    );
    expect((await cli.exited).code).toBe(1);
    expect(cli.lines.some(byMsg('cannot receive from the queue: check the credentials and the queue URL'))).toBe(true);
  });
});
