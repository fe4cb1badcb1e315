import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const file = fileURLToPath(new URL('./node-test-contract.ts', import.meta.url));

async function nodeTest(env: Record<string, string> = {}): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await run(process.execPath, ['--test', '--test-reporter=tap', file], {
      env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: 0, stdout };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '' };
  }
}

describe('s3-sqs-sync/testing', () => {
  it('runs under node:test with its describe and it, and JsonFileStore passes it', async () => {
    const { code, stdout } = await nodeTest();
    expect(stdout).toMatch(/^# fail 0$/m);
    expect(Number(/^# pass (\d+)$/m.exec(stdout)?.[1])).toBeGreaterThanOrEqual(20);
    expect(code).toBe(0);
  }, 60_000);

  it('fails under node:test when the store breaks the contract', async () => {
    const { code, stdout } = await nodeTest({ CONTRACT_BROKEN: '1' });
    expect(code).not.toBe(0);
    expect(stdout).toMatch(/^\s*not ok \d+ - with data that fails validation/m);
  }, 60_000);
});
