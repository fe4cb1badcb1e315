import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadS3Object, sweepTempFiles } from '../../src/index.ts';
import { leftovers, tempDir } from '../support/files.ts';
import { client, NEW, OLD, ok } from './mock-s3.ts';

const s3 = mockClient(S3Client);
let dir: Awaited<ReturnType<typeof tempDir>>;

beforeEach(async () => {
  s3.reset();
  dir = await tempDir();
});

afterEach(async () => {
  await dir.cleanup();
});

/** The pid of a process that has exited (and so, for a moment at least, names no process). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid;
  await once(child, 'exit');
  if (pid === undefined) throw new Error('no pid');
  return pid;
}

describe('sweepTempFiles', () => {
  it('never removes the temp file of a download in progress in this process, whatever its age', async () => {
    s3.on(GetObjectCommand).resolves(ok(NEW));
    const target = join(dir.path, 'registry.json');
    await writeFile(target, OLD);
    let swept: string[] | undefined;
    const result = await downloadS3Object({
      client,
      source: 's3://registry-prod/k',
      target,
      verify: async (tempPath) => {
        const longAgo = new Date(Date.now() - 3_600_000);
        await utimes(tempPath, longAgo, longAgo);
        swept = await sweepTempFiles(dir.path, { olderThanMs: 60_000 });
        swept.push(...(await sweepTempFiles(dir.path)));
      },
    });
    expect(swept).toEqual([]);
    expect(result.status).toBe('downloaded');
    expect(await readFile(target, 'utf8')).toBe(NEW);
  });

  it('keeps temp files whose process is still running, and removes those of an exited one', async () => {
    const sleeper = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    try {
      const alive = join(dir.path, `.a.json.${sleeper.pid}.0123456789abcdef.s3-sqs-sync.tmp`);
      const dead = join(dir.path, `.b.json.${await deadPid()}.0123456789abcdef.s3-sqs-sync.tmp`);
      await writeFile(alive, 'partial');
      await writeFile(dead, 'partial');
      expect(await sweepTempFiles(dir.path)).toEqual([dead]);
      expect(await leftovers(dir.path)).toEqual([alive.slice(dir.path.length + 1)]);
    } finally {
      sleeper.kill();
    }
  });

  it('removes a leftover with this process id that no download of this process owns (an earlier process, same pid)', async () => {
    const earlier = join(dir.path, `.a.json.${process.pid}.0123456789abcdef.s3-sqs-sync.tmp`);
    await writeFile(earlier, 'partial');
    expect(await sweepTempFiles(dir.path)).toEqual([earlier]);
  });

  it('still removes leftovers named without a pid (written by earlier versions)', async () => {
    const old = join(dir.path, '.a.json.0123456789abcdef.s3-sqs-sync.tmp');
    await writeFile(old, 'partial');
    expect(await sweepTempFiles(dir.path)).toEqual([old]);
  });

  it('skips a directory whose name matches, and sweeps on past it', async () => {
    await mkdir(join(dir.path, '.a.json.0123456789abcdef.s3-sqs-sync.tmp'));
    const file = join(dir.path, '.b.json.0123456789abcdef.s3-sqs-sync.tmp');
    await writeFile(file, 'partial');
    expect(await sweepTempFiles(dir.path)).toEqual([file]);
    expect((await readdir(dir.path)).sort()).toEqual(['.a.json.0123456789abcdef.s3-sqs-sync.tmp']);
  });

  it('fails with ERR_NOT_FOUND for a missing directory', async () => {
    const missing = join(dir.path, 'missing');
    await expect(sweepTempFiles(missing)).rejects.toMatchObject({ code: 'ERR_NOT_FOUND', path: missing });
  });
});
