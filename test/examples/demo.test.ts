import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../../', import.meta.url).pathname;

/** Runs `examples/demo.ts` on the sources, as `npm run demo` runs it on the build. */
async function runDemo(
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', './test/support/source-hooks.mjs', 'examples/demo.ts'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH, ...env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 18_000);
  try {
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, stdout, stderr };
  } finally {
    clearTimeout(timer);
  }
}

const STEPS = [
  'start the emulator',
  'create bucket and topic',
  'create a queue per replica',
  'start 2 replicas',
  'publish v1',
  'publish v2',
  'publish an invalid file',
  'publish v3',
  'stop',
];

describe('examples/demo.ts', () => {
  it('runs every step, checks it, and exits 0 on its own', { timeout: 20_000 }, async () => {
    const { code, stdout, stderr } = await runDemo();
    // Node 22 warns once that the emulator's node:sqlite is experimental; nothing else may appear.
    const errors = stderr
      .split('\n')
      .filter((line) => line !== '' && !/ExperimentalWarning: SQLite|node --trace-warnings/.test(line));
    expect({ code, errors }).toStrictEqual({ code: 0, errors: [] });
    const lines = stdout.trim().split('\n');
    // `  ok   12 ms  <step>  <what happened>`: one line per step, in order, with its duration.
    const steps = lines.slice(1, -1).map((line) => line.match(/^ {2}ok +\d+ ms {2}(.+?) {2,}/)?.[1]?.trim());
    expect(steps).toStrictEqual(STEPS);
    expect(lines.at(-1)).toMatch(/^demo passed: 9 steps in \d+ ms$/);
    expect(stdout).toMatch(/publish v2 +v2 \(4 servers\) .* both replicas serve it \d+ ms after the upload/);
    expect(stdout).toMatch(/publish an invalid file +.*refused by both .*\/health 503 degraded: ERR_VERIFY_FAILED/);
    expect(stdout).toMatch(/publish v3 +recovered: v3 \(5 servers\) .* both replicas serve it/);
  });

  it('exits 1 naming the step that failed, after cleaning up', { timeout: 20_000 }, async () => {
    // A 1 ms limit per step: the first step that waits on I/O fails, and the rest never run.
    const { code, stdout } = await runDemo({ DEMO_STEP_TIMEOUT_MS: '1' });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAILED at step "[a-z0-9 ]+": no result within 1 ms$/m);
    expect(stdout).not.toMatch(/demo passed/);
  });
});
