import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkSignalConfig, childEnv, commandLabel, ExecRunner, sendSignal } from '../../src/cli/after-update.ts';
import { UsageError } from '../../src/cli/args.ts';
import { type CliLogger, createLogger } from '../../src/cli/logger.ts';
import { alive, pidFrom } from '../support/processes.ts';

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

/** A Node process that prints each SIGUSR2/SIGHUP it gets on stdout, started and ready to receive. */
async function listeningProcess(): Promise<{ child: ChildProcess; received: string[] }> {
  const script =
    "for (const s of ['SIGUSR2', 'SIGHUP']) process.on(s, () => console.log(s)); console.log('ready'); setInterval(() => {}, 1000);";
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const received: string[] = [];
  let ready!: () => void;
  const started = new Promise<void>((resolve) => {
    ready = resolve;
  });
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n').filter(Boolean)) {
      if (line === 'ready') ready();
      else received.push(line);
    }
  });
  await started;
  return { child, received };
}

/** What the AWS SDK reads to find credentials, in every form a container or a laptop gives them. */
const CREDENTIAL_ENV: Readonly<Record<string, string>> = {
  AWS_ACCESS_KEY_ID: 'AKIAEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'secret-value',
  AWS_SESSION_TOKEN: 'token-value',
  AWS_CONTAINER_AUTHORIZATION_TOKEN: 'container-token',
  AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: '/var/run/secrets/pods.eks.amazonaws.com/token',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://169.254.170.23/v1/credentials',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2/credentials/abc',
  AWS_WEB_IDENTITY_TOKEN_FILE: '/var/run/secrets/eks.amazonaws.com/serviceaccount/token',
  AWS_ROLE_ARN: 'arn:aws:iam::111122223333:role/registry',
  AWS_ROLE_SESSION_NAME: 'registry',
  AWS_PROFILE: 'prod',
  AWS_SHARED_CREDENTIALS_FILE: '/etc/aws/credentials',
  AWS_CONFIG_FILE: '/etc/aws/config',
  AWS_REGION: 'eu-west-1',
  aws_lowercase_is_the_same_to_windows: 'x',
};

/** Sets `values` in `process.env`; returns what puts it back. */
function setEnv(values: Readonly<Record<string, string>>): () => void {
  const saved = Object.fromEntries(Object.keys(values).map((name) => [name, process.env[name]]));
  Object.assign(process.env, values);
  return () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
}

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

  it('kills a run that outlasts its timeout, with its children, and runs the next update after it', async () => {
    const childPid = join(dir, 'child.pid');
    const out = join(dir, 'second.txt');
    // The first run hangs (a child that ignores nothing); the second only writes a file.
    const command = `if [ "$S3_SYNC_VERSION" = 1 ]; then sleep 600 & echo $! > '${childPid}'; wait; else echo done > '${out}'; fi`;
    const runner = new ExecRunner(command, logger, { timeoutMs: 300, killGraceMs: 200 });
    runner.submit(update(1));
    const pid = await pidFrom(childPid);
    runner.submit(update(2));
    await expect.poll(() => readFile(out, 'utf8').catch(() => ''), { timeout: 10_000 }).toBe('done\n');
    await runner.close();
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    expect(lines.find((line) => line.msg === 'exec failed')).toMatchObject({ version: 1, timedOut: true });
    expect(lines.find((line) => line.msg === 'exec finished')).toMatchObject({ version: 2, exitCode: 0 });
  });

  it('waits at most the given time on close, then kills the run and its process group', async () => {
    const childPid = join(dir, 'child.pid');
    // The shell ignores SIGTERM, so only the SIGKILL after the grace ends it.
    const runner = new ExecRunner(`trap '' TERM; sleep 600 & echo $! > '${childPid}'; wait`, logger, {
      timeoutMs: 600_000,
      killGraceMs: 200,
    });
    runner.submit(update(1));
    const pid = await pidFrom(childPid);
    const started = performance.now();
    await runner.close(200);
    expect(performance.now() - started).toBeLessThan(10_000);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    expect(lines.find((line) => line.msg === 'exec still running at stop: killing it')).toMatchObject({ level: 40 });
  });

  it('kill(true) ends the process group at once', async () => {
    const childPid = join(dir, 'child.pid');
    const runner = new ExecRunner(`trap '' TERM; sleep 600 & echo $! > '${childPid}'; wait`, logger, {
      killGraceMs: 60_000,
    });
    runner.submit(update(1));
    const pid = await pidFrom(childPid);
    runner.kill(true);
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
    await runner.close();
  });

  it('logs the program and a hash of the command, never the rest of the command line', async () => {
    const command =
      'TOKEN=sk_live_EXAMPLE curl -fsS -H "Authorization: Bearer sk_live_EXAMPLE" http://127.0.0.1:1/ || exit 7';
    const runner = new ExecRunner(command, logger);
    runner.submit(update(1));
    await runner.close();
    expect(JSON.stringify(lines)).not.toContain('sk_live');
    const { program, commandHash } = commandLabel(command);
    expect(program).toBe('curl');
    expect(commandHash).toMatch(/^[0-9a-f]{12}$/);
    expect(lines.find((line) => line.msg === 'exec started')).toMatchObject({ program, commandHash, version: 1 });
    expect(lines.find((line) => line.msg === 'exec failed')).toMatchObject({ program, commandHash });
  });

  it('does not hand the AWS secret key or session token to the command', async () => {
    const seen = join(dir, 'env.txt');
    const saved = { secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-value';
    process.env.AWS_SESSION_TOKEN = 'token-value';
    try {
      const runner = new ExecRunner(
        `echo "\${AWS_SECRET_ACCESS_KEY-none} \${AWS_SESSION_TOKEN-none}" > '${seen}'`,
        logger,
      );
      runner.submit(update(1));
      await runner.close();
    } finally {
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.token === undefined) delete process.env.AWS_SESSION_TOKEN;
      else process.env.AWS_SESSION_TOKEN = saved.token;
    }
    expect(await readFile(seen, 'utf8')).toBe('none none\n');
  });

  it('hands the command no AWS_* variable: no credential, token, token file, role, profile or credential endpoint', async () => {
    const seen = join(dir, 'env.txt');
    const restore = setEnv(CREDENTIAL_ENV);
    try {
      const runner = new ExecRunner(`env > '${seen}'`, logger);
      runner.submit(update(1));
      await runner.close();
    } finally {
      restore();
    }
    const names = (await readFile(seen, 'utf8')).split('\n').map((line) => line.split('=')[0]);
    expect(names.filter((name) => name?.toUpperCase().startsWith('AWS_'))).toEqual([]);
    expect(names).toContain('S3_SYNC_VERSION');
    expect(names).toContain('PATH');
  });

  it('refuses a timeout that is not a positive integer', () => {
    expect(() => new ExecRunner('true', logger, { timeoutMs: 0 })).toThrow(RangeError);
  });
});

describe('sendSignal', () => {
  it('reads the pid file each time and signals that process, logging it as targetPid', async () => {
    const pidFile = join(dir, 'app.pid');
    const { child, received } = await listeningProcess();
    try {
      await writeFile(pidFile, `  ${child.pid}\n\n`);
      await sendSignal('SIGUSR2', { pidFile }, logger);
      await expect.poll(() => received).toEqual(['SIGUSR2']);
      const sent = lines.find((line) => line.msg === 'signal sent');
      expect(sent).toMatchObject({ signal: 'SIGUSR2', targetPid: child.pid, pid: process.pid });
    } finally {
      child.kill('SIGKILL');
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

  it('takes only decimal digits from the pid file: hex, binary, a fraction or an exponent is refused', async () => {
    const pidFile = join(dir, 'app.pid');
    const { child, received } = await listeningProcess();
    try {
      const pid = child.pid as number;
      const spellings = [
        `0x${pid.toString(16)}`,
        `${pid}.0`,
        `${pid / 10}e1`,
        `+${pid}`,
        '0b1',
        '0o1',
        '0',
        `${pid} ${pid}`,
      ];
      for (const spelling of spellings) {
        await writeFile(pidFile, spelling);
        await sendSignal('SIGHUP', { pidFile }, logger);
      }
      expect(lines.map((line) => line.msg)).toEqual(spellings.map(() => 'the pid file does not hold a process id'));
      // A last, decimal one shows the process was listening all along.
      await writeFile(pidFile, String(pid));
      await sendSignal('SIGUSR2', { pidFile }, logger);
      await expect.poll(() => received).toEqual(['SIGUSR2']);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('never signals pid 1 or its own process, whatever the pid file says', async () => {
    const pidFile = join(dir, 'app.pid');
    for (const pid of [1, process.pid]) {
      await writeFile(pidFile, `${pid}\n`);
      await sendSignal('SIGUSR2', { pidFile }, logger);
    }
    expect(lines.map((line) => [line.msg, line.targetPid])).toEqual([
      ['signal refused: the target must not be signalled', 1],
      ['signal refused: the target must not be signalled', process.pid],
    ]);
  });
});

describe('the log line', () => {
  it("keeps the logger's own pid, level and msg whatever the fields say", () => {
    logger.info('signal sent', { pid: 4242, level: 99, msg: 'other', hostname: 'x', targetPid: 4242 });
    expect(lines[0]).toMatchObject({ pid: process.pid, level: 30, msg: 'signal sent', targetPid: 4242 });
    expect(lines[0]?.hostname).not.toBe('x');
  });
});

describe('checkSignalConfig', () => {
  it('accepts the reload-style signals and refuses those that stop or kill', () => {
    for (const signal of ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const) {
      expect(() => checkSignalConfig(signal, { pidFile: '/run/app.pid' })).not.toThrow();
    }
    for (const signal of ['SIGKILL', 'SIGSTOP', 'SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGCONT'] as const) {
      expect(() => checkSignalConfig(signal, { pid: 4242 })).toThrow(UsageError);
    }
    expect(() => checkSignalConfig('SIGKILL', { pid: 4242 })).toThrow(/--signal must be one of HUP, USR1, USR2, WINCH/);
  });

  it('refuses --pid 1 and its own pid', () => {
    expect(() => checkSignalConfig('SIGHUP', { pid: 1 })).toThrow(UsageError);
    expect(() => checkSignalConfig('SIGHUP', { pid: process.pid })).toThrow(/--pid must not be this process/);
  });
});

describe('childEnv', () => {
  it('keeps everything but the AWS_* variables', () => {
    expect(childEnv({ ...CREDENTIAL_ENV, PATH: '/bin', HOME: '/home/app', LANG: 'C' })).toEqual({
      PATH: '/bin',
      HOME: '/home/app',
      LANG: 'C',
    });
  });
});
