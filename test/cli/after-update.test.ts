import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExecRunner, sendSignal } from '../../src/cli/after-update.ts';
import { type CliLogger, createLogger } from '../../src/cli/logger.ts';

let dir: string;
let lines: Record<string, unknown>[];
let logger: CliLogger;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-exec-'));
  lines = [];
  logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const update = (version: number) => ({ version, etag: `"e${version}"`, target: '/srv/registry.json' });

describe('ExecRunner', () => {
  it('passes the version, ETag and target in the environment', async () => {
    const out = join(dir, 'env.txt');
    const runner = new ExecRunner(`echo "$S3_SYNC_VERSION $S3_SYNC_ETAG $S3_SYNC_TARGET" > '${out}'`, logger);
    runner.submit(update(7));
    await runner.close();
    expect(await readFile(out, 'utf8')).toBe('7 "e7" /srv/registry.json\n');
    expect(lines.find((line) => line.msg === 'exec finished')).toMatchObject({ level: 30, version: 7, exitCode: 0 });
  });

  it('never runs two at once: updates during a run cause one more run, with the newest', async () => {
    const log = join(dir, 'runs.txt');
    const gate = join(dir, 'gate');
    // The first run waits until the test opens the gate, so the later updates surely land during it.
    const command = `echo "start $S3_SYNC_VERSION" >> '${log}'; while [ ! -e '${gate}' ]; do sleep 0.02; done; echo "end $S3_SYNC_VERSION" >> '${log}'`;
    const runner = new ExecRunner(command, logger);
    runner.submit(update(1));
    await expect.poll(() => readFile(log, 'utf8').catch(() => ''), { timeout: 10_000 }).toContain('start 1');
    runner.submit(update(2));
    runner.submit(update(3));
    runner.submit(update(4));
    await writeFile(gate, '');
    await expect.poll(() => lines.filter((line) => line.msg === 'exec finished').length, { timeout: 10_000 }).toBe(2);
    await runner.close();
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['start 1', 'end 1', 'start 4', 'end 4']);
  });

  it('logs a failing command as a warning with its exit code and carries on', async () => {
    const runner = new ExecRunner('exit 3', logger);
    runner.submit(update(1));
    await runner.close();
    expect(lines.find((line) => line.msg === 'exec failed')).toMatchObject({ level: 40, exitCode: 3 });
  });
});

describe('sendSignal', () => {
  it('reads the pid file each time and signals that process', async () => {
    const pidFile = join(dir, 'app.pid');
    const received: NodeJS.Signals[] = [];
    const onSignal = (signal: NodeJS.Signals) => received.push(signal);
    process.on('SIGUSR2', onSignal);
    try {
      await writeFile(pidFile, `${process.pid}\n`);
      await sendSignal('SIGUSR2', { pidFile }, logger);
      await expect.poll(() => received).toEqual(['SIGUSR2']);
      expect(lines.find((line) => line.msg === 'signal sent')).toMatchObject({ signal: 'SIGUSR2', pid: process.pid });
    } finally {
      process.off('SIGUSR2', onSignal);
    }
  });

  it('warns, and sends nothing, when the pid file is missing or holds no pid', async () => {
    await sendSignal('SIGHUP', { pidFile: join(dir, 'missing.pid') }, logger);
    await writeFile(join(dir, 'bad.pid'), 'not a pid');
    await sendSignal('SIGHUP', { pidFile: join(dir, 'bad.pid') }, logger);
    expect(lines.map((line) => [line.level, line.msg])).toEqual([
      [40, 'cannot read the pid file'],
      [40, 'the pid file does not hold a process id'],
    ]);
  });
});
