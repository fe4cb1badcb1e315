import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createQueue, type Emulator, queueDepth, sendMessages, startEmulator } from '../support/emulator.ts';
import { alive, pidFrom as waitForPid } from '../support/processes.ts';
import { s3EventBody } from '../support/s3-events.ts';
import { type CliProcess, emulatorEnv, type LogLine, runCli } from './run-cli.ts';

const KEY = 'v0/registry.json';

let emu: Emulator;
let dir: string;
let bucket: string;
let queueUrl: string;
let cli: CliProcess | undefined;
const leftovers: number[] = [];

beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-processes-'));
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
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone, as it should be.
    }
  }
  await rm(dir, { recursive: true, force: true });
});

/** The pid a hook wrote to `file`, once it has; remembered so a failing test still cleans it up. */
async function pidFrom(file: string): Promise<number> {
  const pid = await waitForPid(file, 15_000);
  leftovers.push(pid);
  return pid;
}

const byMsg = (msg: string) => (line: LogLine) => line.msg === msg;

function sync(extra: readonly string[], target = join(dir, 'registry.json')): CliProcess {
  return runCli(
    ['sync', '--source', `s3://${bucket}/${KEY}`, '--queue-url', queueUrl, '--target', target, ...extra],
    emulatorEnv(emu.endpoint),
  );
}

async function put(body: string): Promise<void> {
  await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: KEY, Body: body }));
}

describe('s3-sqs-sync sync: the processes it starts', () => {
  it('on SIGTERM waits for a hung --exec at most --stop-timeout, then kills its process group', async () => {
    await put(JSON.stringify({ servers: [] }));
    const childPid = join(dir, 'exec.pid');
    cli = sync(['--exec', `sleep 600 & echo $! > '${childPid}'; wait`, '--stop-timeout', '500ms']);
    const pid = await pidFrom(childPid);
    await cli.waitForLine(byMsg('sync started'));
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
    expect(cli.lines.some(byMsg('exec still running at stop: killing it'))).toBe(true);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  });

  it('a second signal exits at once and kills the hung --exec group instead of leaving it behind', async () => {
    await put(JSON.stringify({ servers: [] }));
    const childPid = join(dir, 'exec.pid');
    cli = sync(['--exec', `sleep 600 & echo $! > '${childPid}'; wait`, '--stop-timeout', '10m']);
    const pid = await pidFrom(childPid);
    await cli.waitForLine(byMsg('sync started'));
    cli.child.kill('SIGTERM');
    await cli.waitForLine(byMsg('stopping'));
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(1);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  });

  it('SIGTERM during --verify-cmd kills the verify command and exits without waiting for it', async () => {
    await put(JSON.stringify({ servers: [] }));
    const childPid = join(dir, 'verify.pid');
    cli = sync(['--verify-cmd', `sleep 600 & echo $! > '${childPid}'; wait # {path}`, '--stop-timeout', '10m']);
    const pid = await pidFrom(childPid);
    cli.child.kill('SIGTERM');
    const { code } = await cli.exited;
    expect(code).not.toBeNull();
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  });

  it('logs and ignores SIGHUP (which an init forwards), and still stops cleanly on SIGTERM', async () => {
    await put(JSON.stringify({ servers: [] }));
    cli = sync([]);
    await cli.waitForLine(byMsg('sync started'));
    cli.child.kill('SIGHUP');
    await cli.waitForLine(byMsg('SIGHUP ignored: nothing to reload'));
    expect(cli.child.exitCode).toBeNull();
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  });

  it('SIGTERM during --verify-cmd hands the message back instead of deleting it as refused', async () => {
    await put(JSON.stringify({ servers: [] }));
    const childPid = join(dir, 'verify.pid');
    cli = runCli(
      [
        'sync',
        '--allow-bucket',
        bucket,
        '--queue-url',
        queueUrl,
        '--target',
        join(dir, 'registry.json'),
        '--verify-cmd',
        `sleep 600 & echo $! > '${childPid}'; wait # {path}`,
        '--stop-timeout',
        '10s',
      ],
      emulatorEnv(emu.endpoint),
    );
    await cli.waitForLine(byMsg('sync started'));
    await sendMessages(emu, queueUrl, [s3EventBody({ bucket, key: KEY })]);
    await pidFrom(childPid);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
    const failed = cli.lines.find(byMsg('update failed'));
    expect(failed).toMatchObject({ permanent: false });
    const { visible, inFlight } = await queueDepth(emu, queueUrl);
    expect(visible + inFlight).toBe(1);
  });

  it('refuses a candidate that --verify-cmd rewrote after the schema check would have passed it', async () => {
    await put(JSON.stringify({ servers: [] }));
    const target = join(dir, 'registry.json');
    const schema = join(dir, 'schema.json');
    await writeFile(schema, JSON.stringify({ type: 'object', required: ['servers'] }));
    cli = sync(['--schema', schema, '--verify-cmd', 'printf "NOT JSON {" > {path} 2>/dev/null; true'], target);
    expect((await cli.exited).code).toBe(1);
    expect(cli.lines.some(byMsg('update applied'))).toBe(false);
    await expect(readFile(target, 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('writes neither the --exec command line nor a refusing --verify-cmd output to the log', async () => {
    await put('upstream db { server db:5432; } # password=hunter2\n');
    const target = join(dir, 'app.conf');
    const exec = 'curl -fsS -H "Authorization: Bearer sk_live_EXAMPLE" http://127.0.0.1:1/reload';
    cli = sync(
      ['--format', 'raw', '--verify-cmd', 'echo "syntax error in:"; cat {path}; exit 1', '--exec', exec],
      target,
    );
    expect((await cli.exited).code).toBe(1);
    const failed = cli.lines.find(byMsg('update failed'));
    expect(failed).toBeDefined();
    expect(JSON.stringify(cli.lines)).not.toMatch(/hunter2|sk_live/);

    await put('ok\n');
    cli = sync(['--format', 'raw', '--exec', exec], target);
    const started = await cli.waitForLine(byMsg('exec started'));
    expect(started).toMatchObject({ program: 'curl', commandHash: expect.stringMatching(/^[0-9a-f]{12}$/) });
    await cli.waitForLine((line) => line.msg === 'exec failed' || line.msg === 'exec finished');
    expect(JSON.stringify(cli.lines)).not.toMatch(/sk_live/);
    cli.child.kill('SIGTERM');
    expect((await cli.exited).code).toBe(0);
  });

  it.each([
    [['--signal', 'KILL', '--pid', '4242'], /--signal must be one of HUP, USR1, USR2, WINCH/],
    [['--signal', 'STOP', '--pid-file', '/run/app.pid'], /--signal must be one of/],
    [['--pid', '1'], /--pid must not be pid 1/],
  ])('exits 2 for %j', async (extra, message) => {
    cli = sync(extra);
    expect((await cli.exited).code).toBe(2);
    expect(cli.stderr()).toMatch(message);
  });
});
