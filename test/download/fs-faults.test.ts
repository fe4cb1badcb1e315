// File-system faults a real disk rarely produces on demand: a slow fsync, a full disk, and the
// moment right after the rename. node:fs/promises is wrapped to inject them.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { downloadS3Object, FileSystemError } from '../../src/index.ts';
import { leftovers, tempDir } from '../support/files.ts';
import { body, client, FAST_RETRY, NEW, OLD, ok, rejection } from './mock-s3.ts';

const faults = vi.hoisted(() => ({
  /** Runs right after a rename has succeeded. */
  afterRename: undefined as (() => void) | undefined,
  /** fsync of a temp file waits for this promise first. */
  slowSync: undefined as Promise<void> | undefined,
  /** Writes to a temp file fail with this. */
  writeError: undefined as Error | undefined,
  /** Each write to a temp file takes this long first. */
  writeDelayMs: 0,
}));

vi.mock('node:fs/promises', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof actual.open = async (path, flags, mode) => {
    const handle = await actual.open(path, flags, mode);
    if (!String(path).endsWith('.s3-sqs-sync.tmp')) return handle;
    const { sync, write, writev } = handle;
    handle.sync = async () => {
      await faults.slowSync;
      return sync.call(handle);
    };
    const failing = <F extends (...args: never[]) => unknown>(real: F) =>
      (async (...args: Parameters<F>) => {
        if (faults.writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, faults.writeDelayMs));
        if (faults.writeError !== undefined) throw faults.writeError;
        return real.apply(handle, args);
      }) as unknown as F;
    handle.write = failing(write);
    handle.writev = failing(writev);
    return handle;
  };
  const rename: typeof actual.rename = async (from, to) => {
    await actual.rename(from, to);
    faults.afterRename?.();
  };
  return { ...actual, open, rename, default: { ...actual, open, rename } };
});

const s3 = mockClient(S3Client);
const source = 's3://registry-prod/registry.json';
let dir: Awaited<ReturnType<typeof tempDir>>;
let target: string;

beforeEach(async () => {
  s3.reset();
  s3.on(GetObjectCommand).callsFake(() => ok(NEW));
  faults.afterRename = undefined;
  faults.slowSync = undefined;
  faults.writeError = undefined;
  faults.writeDelayMs = 0;
  dir = await tempDir();
  target = join(dir.path, 'registry.json');
  await writeFile(target, OLD);
});

afterEach(async () => {
  await dir.cleanup();
});

describe('downloadS3Object', () => {
  it('reports success when the signal aborts after the rename', async () => {
    const controller = new AbortController();
    faults.afterRename = () => controller.abort(new Error('too late'));
    const result = await downloadS3Object({ client, source, target, signal: controller.signal });
    expect(controller.signal.aborted).toBe(true);
    expect(result).toMatchObject({ status: 'downloaded', attempts: 1 });
    expect(await readFile(target, 'utf8')).toBe(NEW);
  });

  it('does not count a slow final fsync as an idle connection', async () => {
    // The fsync lasts several idle timeouts: long enough for the timer to fire if it still ran.
    faults.slowSync = new Promise((resolve) => setTimeout(resolve, 500));
    const result = await downloadS3Object({ client, source, target, idleTimeoutMs: 50, retry: FAST_RETRY });
    expect(result).toMatchObject({ status: 'downloaded', attempts: 1 });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(await readFile(target, 'utf8')).toBe(NEW);
  });

  it('does not count time the disk holds the body back (backpressure) as an idle connection', async () => {
    // 1 MiB in 16 KiB chunks through 256 KiB writes that each take 4 idle timeouts: the body
    // waits on the disk far longer than idleTimeoutMs, while the network has data ready.
    const chunk = 'x'.repeat(16 * 1024);
    const chunks = Array.from({ length: 64 }, () => chunk);
    s3.on(GetObjectCommand).callsFake(() => ({
      Body: body(...chunks),
      ContentLength: 64 * chunk.length,
      ETag: '"big"',
    }));
    faults.writeDelayMs = 100;
    const result = await downloadS3Object({ client, source, target, idleTimeoutMs: 25, retry: false });
    expect(result).toMatchObject({ status: 'downloaded', attempts: 1, bytes: 64 * chunk.length });
  });

  it('fails with ERR_FILE_SYSTEM on a full disk, without retrying, and leaves nothing behind', async () => {
    faults.writeError = Object.assign(new Error('ENOSPC: no space left on device, write'), {
      code: 'ENOSPC',
      syscall: 'write',
    });
    const error = await rejection(downloadS3Object({ client, source, target, retry: FAST_RETRY }));
    expect(error).toBeInstanceOf(FileSystemError);
    expect(error).toMatchObject({ code: 'ERR_FILE_SYSTEM', errno: 'ENOSPC', path: target, etag: '"etag-new"' });
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    expect(await readFile(target, 'utf8')).toBe(OLD);
    expect(await leftovers(dir.path)).toEqual([]);
  });
});
