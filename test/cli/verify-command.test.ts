import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CliLogger, createLogger } from '../../src/cli/logger.ts';
import { runVerifyCommand, verifyScript } from '../../src/cli/verify-command.ts';
import { alive, pidFrom } from '../support/processes.ts';

let dir: string;
let lines: Record<string, unknown>[];
let logger: CliLogger;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-verify-'));
  lines = [];
  logger = createLogger({ format: 'json', level: 'debug', write: (line) => lines.push(JSON.parse(line)) });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('verifyScript', () => {
  it('turns {path} into "$1", and appends it when the command has none', () => {
    expect(verifyScript('nginx -t -c {path}')).toBe('nginx -t -c "$1"');
    expect(verifyScript('jq empty')).toBe('jq empty "$1"');
  });
});

describe('runVerifyCommand', () => {
  const options = (command: string, timeoutMs = 10_000) => ({
    command,
    timeoutMs,
    target: '/srv/registry.json',
    logger,
  });

  it('passes a path with spaces, quotes and $(…) as one argument, never as shell text', async () => {
    const candidate = join(dir, `a b'"$(touch pwned).json`);
    await writeFile(candidate, '{}');
    await expect(runVerifyCommand(options('test -f {path}'), candidate)).resolves.toBeUndefined();
    expect(await readdir(dir)).toEqual([`a b'"$(touch pwned).json`]);
  });

  it('refuses with ERR_VALIDATION naming the exit code, and keeps the output out of the error', async () => {
    const candidate = join(dir, 'c.conf');
    await writeFile(candidate, 'upstream db { server db:5432; } # password=hunter2\n');
    const refused = runVerifyCommand(options('echo "syntax error in:" >&2; cat {path}; exit 4'), candidate);
    const error = await refused.then(
      () => undefined,
      (reason: unknown) => reason as Error & { toJSON(): unknown },
    );
    expect(error).toMatchObject({
      code: 'ERR_VALIDATION',
      path: '/srv/registry.json',
      message: '--verify-cmd refused the update: it exited with code 4',
    });
    expect(JSON.stringify(error?.toJSON())).not.toContain('hunter2');
    // The output is there for whoever turns on debug logging, and only there.
    const debug = lines.find((line) => line.msg === 'verify output');
    expect(debug).toMatchObject({ level: 20 });
  });

  it('keeps at most 1 KiB of the output for the debug line', async () => {
    const candidate = join(dir, 'c.json');
    await writeFile(candidate, '{}');
    await expect(
      runVerifyCommand(options('head -c 100000 /dev/zero | tr "\\0" x; exit 1'), candidate),
    ).rejects.toThrow();
    const debug = lines.find((line) => line.msg === 'verify output') as { output: string } | undefined;
    expect(debug?.output.length ?? 0).toBeLessThanOrEqual(1024);
  });

  it('kills a command that outlasts the timeout, and refuses', async () => {
    const candidate = join(dir, 'c.json');
    await writeFile(candidate, '{}');
    const started = performance.now();
    await expect(runVerifyCommand(options('sleep 30; test -f {path}', 200), candidate)).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      message: expect.stringMatching(/ran longer than 200 ms and was killed/),
    });
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('refuses at the timeout even when a grandchild left the process group holding the output pipes', async () => {
    const candidate = join(dir, 'c.json');
    const escapee = join(dir, 'escapee.pid');
    await writeFile(candidate, '{}');
    // setsid puts the sleep in a session of its own: killing the verify group does not reach it,
    // and it keeps the stdout/stderr pipes open for as long as it lives.
    const command = `setsid sh -c 'echo $$ > "${escapee}"; exec sleep 120' # {path}`;
    const verdict = runVerifyCommand(options(command, 300), candidate);
    try {
      await expect(verdict).rejects.toMatchObject({
        code: 'ERR_VALIDATION',
        message: expect.stringMatching(/ran longer than 300 ms/),
      });
    } finally {
      process.kill(await pidFrom(escapee), 'SIGKILL');
    }
  });

  it('kills the command and its children when the signal aborts, and rejects with ERR_CLOSED, not a refusal', async () => {
    const candidate = join(dir, 'c.json');
    const childPid = join(dir, 'child.pid');
    await writeFile(candidate, '{}');
    const controller = new AbortController();
    const verdict = runVerifyCommand(
      options(`sleep 60 & echo $! > "${childPid}"; wait # {path}`, 60_000),
      candidate,
      controller.signal,
    );
    const pid = await pidFrom(childPid);
    controller.abort();
    // A refusal (ERR_VALIDATION) is permanent and would delete the message of a good update.
    await expect(verdict).rejects.toMatchObject({ code: 'ERR_CLOSED', message: expect.stringMatching(/stopping/) });
    await expect.poll(() => alive(pid), { timeout: 5_000 }).toBe(false);
  });

  it('does not hand the AWS secret key or session token to the command', async () => {
    const candidate = join(dir, 'c.json');
    const seen = join(dir, 'env.txt');
    await writeFile(candidate, '{}');
    const saved = { secret: process.env.AWS_SECRET_ACCESS_KEY, token: process.env.AWS_SESSION_TOKEN };
    process.env.AWS_SECRET_ACCESS_KEY = 'secret-value';
    process.env.AWS_SESSION_TOKEN = 'token-value';
    try {
      const command = `echo "\${AWS_SECRET_ACCESS_KEY-none} \${AWS_SESSION_TOKEN-none} $S3_SYNC_TARGET" > "${seen}" # {path}`;
      await runVerifyCommand(options(command), candidate);
    } finally {
      if (saved.secret === undefined) delete process.env.AWS_SECRET_ACCESS_KEY;
      else process.env.AWS_SECRET_ACCESS_KEY = saved.secret;
      if (saved.token === undefined) delete process.env.AWS_SESSION_TOKEN;
      else process.env.AWS_SESSION_TOKEN = saved.token;
    }
    expect(await readFile(seen, 'utf8')).toBe('none none /srv/registry.json\n');
  });

  it('hands the command no AWS_* variable (credential files, tokens, roles, endpoints included)', async () => {
    const candidate = join(dir, 'c.json');
    const seen = join(dir, 'env.txt');
    await writeFile(candidate, '{}');
    const names = [
      'AWS_CONTAINER_AUTHORIZATION_TOKEN',
      'AWS_CONTAINER_CREDENTIALS_FULL_URI',
      'AWS_WEB_IDENTITY_TOKEN_FILE',
      'AWS_ROLE_ARN',
      'AWS_PROFILE',
      'AWS_SHARED_CREDENTIALS_FILE',
    ];
    const saved = names.map((name) => [name, process.env[name]] as const);
    for (const name of names) process.env[name] = `value-of-${name}`;
    try {
      await runVerifyCommand(options(`env > "${seen}" # {path}`), candidate);
    } finally {
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const env = await readFile(seen, 'utf8');
    expect(env).not.toMatch(/^AWS_/m);
    expect(env).toMatch(/^S3_SYNC_CANDIDATE=/m);
  });
});
