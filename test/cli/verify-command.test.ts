import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runVerifyCommand, verifyScript } from '../../src/cli/verify-command.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-verify-'));
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
  const options = (command: string, timeoutMs = 10_000) => ({ command, timeoutMs, target: '/srv/registry.json' });

  it('passes a path with spaces, quotes and $(…) as one argument, never as shell text', async () => {
    const candidate = join(dir, `a b'"$(touch pwned).json`);
    await writeFile(candidate, '{}');
    await expect(runVerifyCommand(options('test -f {path}'), candidate)).resolves.toBeUndefined();
    expect(await readdir(dir)).toEqual([`a b'"$(touch pwned).json`]);
  });

  it('refuses with ERR_VALIDATION and the command output when it exits non-zero', async () => {
    const candidate = join(dir, 'c.json');
    await writeFile(candidate, '{}');
    const refused = runVerifyCommand(options('echo "line 3: bad directive" >&2; exit 4'), candidate);
    await expect(refused).rejects.toMatchObject({
      code: 'ERR_VALIDATION',
      path: '/srv/registry.json',
      message: expect.stringMatching(/exited with code 4: line 3: bad directive/),
    });
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
});
