import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { TEMP_FILE_SUFFIX } from 's3-sqs-sync';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROGRESS_MIN_BYTES, startProgress } from '../../src/cli/progress.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-progress-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { write: (text: string) => writes.push(text) } as unknown as NodeJS.WriteStream };
}

describe('startProgress', () => {
  it("shows the bytes of this process's download temp file once it is large", async () => {
    const target = join(dir, 'registry.json');
    const temp = join(dir, `.registry.json.${process.pid}.0123456789abcdef${TEMP_FILE_SUFFIX}`);
    await writeFile(temp, '');
    await truncate(temp, PROGRESS_MIN_BYTES + 1024 * 1024);
    const { writes, stream } = fakeStream();
    const s3 = new S3Client({ region: 'us-east-1' });
    const progress = startProgress(s3, target, stream);
    try {
      await progress.tick();
      expect(writes.join('')).toMatch(/downloading registry\.json 9\.0 MiB/);
    } finally {
      progress.stop();
      s3.destroy();
    }
    expect(writes.at(-1)).toBe('\r\x1b[2K');
  });

  it('shows nothing for a small download', async () => {
    const target = join(dir, 'small.json');
    const temp = join(dir, `.small.json.${process.pid}.0123456789abcdef${TEMP_FILE_SUFFIX}`);
    await writeFile(temp, '{}');
    const { writes, stream } = fakeStream();
    const s3 = new S3Client({ region: 'us-east-1' });
    const progress = startProgress(s3, target, stream);
    await progress.tick();
    await progress.tick();
    progress.stop();
    s3.destroy();
    expect(writes).toEqual([]);
  });
});
