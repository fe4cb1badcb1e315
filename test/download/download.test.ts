import { readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { GetObjectCommand, NoSuchKey, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AbortedError,
  AccessDeniedError,
  DownloadError,
  downloadS3Object,
  NotFoundError,
  PreconditionFailedError,
  sweepTempFiles,
  TooLargeError,
  VerifyFailedError,
} from '../../src/index.ts';
import { leftovers, tempDir } from '../support/files.ts';

const s3 = mockClient(S3Client);
const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const FAST_RETRY = { retries: 3, minDelayMs: 1, maxDelayMs: 2 } as const;
const OLD = '{"servers":["old"]}';
const NEW = '{"servers":["new","content"]}';

function body(...chunks: (string | Buffer)[]) {
  return sdkStreamMixin(Readable.from(chunks.map((c) => Buffer.from(c))));
}

/** A body that sends `first`, then fails as a reset connection does. */
function cutBody(first: string) {
  let sent = false;
  return sdkStreamMixin(
    new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(Buffer.from(first));
        } else {
          this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
        }
      },
    }),
  );
}

/** A body that sends `first` and then nothing, ever. */
function stalledBody(first: string) {
  let sent = false;
  return sdkStreamMixin(
    new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(Buffer.from(first));
        }
      },
    }),
  );
}

function serviceError(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

function ok(content: string, extra: Record<string, unknown> = {}) {
  return { Body: body(content), ContentLength: Buffer.byteLength(content), ETag: '"etag-new"', ...extra };
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let target: string;

beforeEach(async () => {
  s3.reset();
  dir = await tempDir();
  target = join(dir.path, 'registry.json');
  await writeFile(target, OLD);
});

afterEach(async () => {
  await dir.cleanup();
});

async function expectUntouched(): Promise<void> {
  expect(await readFile(target, 'utf8')).toBe(OLD);
  expect(await leftovers(dir.path)).toEqual([]);
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('downloadS3Object', () => {
  describe('success', () => {
    it('replaces the target with the object and reports what S3 said', async () => {
      const lastModified = new Date('2025-05-16T18:56:49Z');
      s3.on(GetObjectCommand).resolves(
        ok(NEW, { VersionId: 'v2', LastModified: lastModified, ContentType: 'application/json' }),
      );
      const result = await downloadS3Object({ client, source: 's3://registry-prod/registry.json', target });
      expect(result).toStrictEqual({
        status: 'downloaded',
        path: target,
        attempts: 1,
        bucket: 'registry-prod',
        key: 'registry.json',
        etag: '"etag-new"',
        versionId: 'v2',
        bytes: Buffer.byteLength(NEW),
        lastModified,
        contentType: 'application/json',
      });
      expect(await readFile(target, 'utf8')).toBe(NEW);
      expect(await leftovers(dir.path)).toEqual([]);
    });

    it('asks S3 to send checksums, and names bucket and key from any URL form', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      await downloadS3Object({ client, source: 'https://registry-prod.s3.eu-west-1.amazonaws.com/v0/r.json', target });
      expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toStrictEqual({
        Bucket: 'registry-prod',
        Key: 'v0/r.json',
        ChecksumMode: 'ENABLED',
      });
    });

    it('writes a new target when none exists yet, with the requested mode', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      const fresh = join(dir.path, 'fresh.json');
      await downloadS3Object({
        client,
        source: { bucket: 'registry-prod', key: 'r.json' },
        target: fresh,
        mode: 0o600,
      });
      expect(await readFile(fresh, 'utf8')).toBe(NEW);
      expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    });

    it('stores Content-Encoding: gzip bytes as sent', async () => {
      const gzipped = Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0x01, 0x02]);
      s3.on(GetObjectCommand).resolves({ Body: body(gzipped), ContentLength: 6, ETag: '"g"', ContentEncoding: 'gzip' });
      const result = await downloadS3Object({ client, source: 's3://registry-prod/r.json.gz', target });
      expect(result.status === 'downloaded' && result.contentEncoding).toBe('gzip');
      expect((await readFile(target)).equals(gzipped)).toBe(true);
    });

    it('reports progress with the total', async () => {
      s3.on(GetObjectCommand).resolves({ Body: body('abc', 'def'), ContentLength: 6, ETag: '"e"' });
      const seen: { bytes: number; total?: number }[] = [];
      await downloadS3Object({ client, source: 's3://registry-prod/k', target, onProgress: (p) => seen.push(p) });
      expect(seen).toEqual([
        { bytes: 3, total: 6 },
        { bytes: 6, total: 6 },
      ]);
    });
  });

  describe('conditional requests', () => {
    it('returns not-modified on 304 and writes nothing', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('NotModified', 304));
      const result = await downloadS3Object({
        client,
        source: 's3://registry-prod/k',
        target,
        ifNoneMatch: '"etag-old"',
      });
      expect(result).toStrictEqual({ status: 'not-modified', etag: '"etag-old"' });
      expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input.IfNoneMatch).toBe('"etag-old"');
      await expectUntouched();
    });

    it('fails with ERR_PRECONDITION on 412 when the caller pinned an ETag, without retrying', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('PreconditionFailed', 412));
      const error = await rejection(
        downloadS3Object({
          client,
          source: 's3://registry-prod/k',
          target,
          ifMatch: '"etag-announced"',
          retry: FAST_RETRY,
        }),
      );
      expect(error).toBeInstanceOf(PreconditionFailedError);
      expect(error).toMatchObject({ code: 'ERR_PRECONDITION', bucket: 'registry-prod', key: 'k' });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
      expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input.IfMatch).toBe('"etag-announced"');
      await expectUntouched();
    });

    it('sends the version id from the URL or the option, and refuses two that differ', async () => {
      s3.on(GetObjectCommand).callsFake(() => ok(NEW, { VersionId: 'v7' }));
      await downloadS3Object({ client, source: 's3://registry-prod/k?versionId=v7', target });
      await downloadS3Object({ client, source: 's3://registry-prod/k', target, versionId: 'v7' });
      expect(s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.VersionId)).toEqual(['v7', 'v7']);
      await expect(
        downloadS3Object({ client, source: 's3://registry-prod/k?versionId=v7', target, versionId: 'v8' }),
      ).rejects.toThrow(TypeError);
    });
  });

  describe('permanent failures', () => {
    it('maps NoSuchKey to ERR_NOT_FOUND without retrying', async () => {
      s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'gone', $metadata: { httpStatusCode: 404 } }));
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY }),
      );
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as NotFoundError).cause).toBeInstanceOf(NoSuchKey);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
      await expectUntouched();
    });

    it('maps 403 to ERR_ACCESS_DENIED without retrying', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY }),
      );
      expect(error).toBeInstanceOf(AccessDeniedError);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
      await expectUntouched();
    });

    it('refuses an object over maxBytes from its Content-Length, before writing anything', async () => {
      const big = body('x'.repeat(100));
      s3.on(GetObjectCommand).resolves({ Body: big, ContentLength: 100, ETag: '"e"' });
      const error = await rejection(downloadS3Object({ client, source: 's3://registry-prod/k', target, maxBytes: 99 }));
      expect(error).toBeInstanceOf(TooLargeError);
      expect(error).toMatchObject({ code: 'ERR_TOO_LARGE', maxBytes: 99, bytes: 100 });
      expect((big as Readable).destroyed).toBe(true);
      await expectUntouched();
    });

    it('refuses a body that grows past maxBytes when there is no Content-Length', async () => {
      s3.on(GetObjectCommand).resolves({ Body: body('x'.repeat(60), 'y'.repeat(60)), ETag: '"e"' });
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, maxBytes: 100 }),
      );
      expect(error).toBeInstanceOf(TooLargeError);
      await expectUntouched();
    });

    it('fails with ERR_VERIFY_FAILED when verify throws, keeping the old file', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      const problem = new Error('servers[1] has no name');
      const error = await rejection(
        downloadS3Object({
          client,
          source: 's3://registry-prod/k',
          target,
          verify: () => {
            throw problem;
          },
        }),
      );
      expect(error).toBeInstanceOf(VerifyFailedError);
      expect((error as VerifyFailedError).cause).toBe(problem);
      expect((error as Error).message).toContain('servers[1] has no name');
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
      await expectUntouched();
    });
  });

  describe('verify', () => {
    it('sees the complete temp file beside the target and its value is returned', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      const result = await downloadS3Object({
        client,
        source: 's3://registry-prod/k',
        target,
        verify: async (tempPath, info) => {
          expect(tempPath.startsWith(dir.path)).toBe(true);
          expect(await readFile(target, 'utf8')).toBe(OLD);
          expect(info.bytes).toBe(Buffer.byteLength(NEW));
          return JSON.parse(await readFile(tempPath, 'utf8')) as { servers: string[] };
        },
      });
      expect(result.status === 'downloaded' && result.verified).toStrictEqual({ servers: ['new', 'content'] });
    });
  });

  describe('checksums', () => {
    it('reports validated: true when the SDK validated the body', async () => {
      const validating = Object.assign(body(NEW), { checksumSourceLocation: 'x-amz-checksum-crc32' });
      s3.on(GetObjectCommand).resolves({ ...ok(NEW), Body: validating, ChecksumCRC32: 'AAAAAA==' });
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target });
      expect(result.status === 'downloaded' && result.checksum).toStrictEqual({
        algorithm: 'CRC32',
        value: 'AAAAAA==',
        validated: true,
      });
    });

    it('reports a composite (multipart) checksum as not validated', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW, { ChecksumCRC32C: 'abcd==-12' }));
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target });
      expect(result.status === 'downloaded' && result.checksum).toStrictEqual({
        algorithm: 'CRC32C',
        value: 'abcd==-12',
        validated: false,
      });
    });

    it('retries a checksum mismatch and reports ERR_CHECKSUM when it persists', async () => {
      s3.on(GetObjectCommand).callsFake(() => ({
        ...ok(NEW),
        Body: sdkStreamMixin(
          new Readable({
            read() {
              this.destroy(new Error('Checksum mismatch: expected "a" but received "b" in response header "x".'));
            },
          }),
        ),
      }));
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY }),
      );
      expect(error).toMatchObject({ code: 'ERR_CHECKSUM' });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(4);
      await expectUntouched();
    });
  });

  describe('transient failures', () => {
    it('retries a body cut mid-stream with If-Match on the first ETag, never a VersionId it was not given', async () => {
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: cutBody(NEW.slice(0, 5)), ContentLength: NEW.length, ETag: '"e1"', VersionId: 'v1' })
        .resolves(ok(NEW, { ETag: '"e1"', VersionId: 'v1' }));
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 2, etag: '"e1"', versionId: 'v1' });
      const inputs = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
      expect(inputs[0]?.IfMatch).toBeUndefined();
      expect(inputs[1]?.IfMatch).toBe('"e1"');
      // GetObject with a VersionId needs s3:GetObjectVersion, which a GetObject-only role lacks.
      expect(inputs.map((input) => input.VersionId)).toEqual([undefined, undefined]);
      expect(await readFile(target, 'utf8')).toBe(NEW);
      expect(await leftovers(dir.path)).toEqual([]);
    });

    it('sends the VersionId the caller asked for on every attempt', async () => {
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: cutBody(NEW.slice(0, 5)), ContentLength: NEW.length, ETag: '"e1"', VersionId: 'v1' })
        .resolves(ok(NEW, { ETag: '"e1"', VersionId: 'v1' }));
      await downloadS3Object({ client, source: 's3://registry-prod/k', target, versionId: 'v1', retry: FAST_RETRY });
      const inputs = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input);
      expect(inputs.map((input) => input.VersionId)).toEqual(['v1', 'v1']);
    });

    it('starts over on the new version when an unpinned object changes between attempts', async () => {
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: cutBody('{"ver'), ContentLength: 40, ETag: '"e1"' })
        .rejectsOnce(serviceError('PreconditionFailed', 412))
        .resolves(ok(NEW, { ETag: '"e2"' }));
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 3, etag: '"e2"' });
      const inputs = s3.commandCalls(GetObjectCommand).map((c) => c.args[0].input.IfMatch);
      expect(inputs).toEqual([undefined, '"e1"', undefined]);
      expect(await readFile(target, 'utf8')).toBe(NEW);
    });

    it('retries a body shorter than its Content-Length', async () => {
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: body(NEW.slice(0, 10)), ContentLength: NEW.length, ETag: '"e"' })
        .resolves(ok(NEW, { ETag: '"e"' }));
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 2 });
      expect(await readFile(target, 'utf8')).toBe(NEW);
    });

    it.each([
      ['500 InternalError', serviceError('InternalError', 500)],
      ['503 SlowDown', serviceError('SlowDown', 503)],
      ['ECONNRESET', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })],
    ])('retries %s and succeeds', async (_name, failure) => {
      s3.on(GetObjectCommand).rejectsOnce(failure).resolves(ok(NEW));
      const result = await downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 2 });
    });

    it('gives up with ERR_DOWNLOAD after the retries, keeping the old file', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('ServiceUnavailable', 503));
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: FAST_RETRY }),
      );
      expect(error).toBeInstanceOf(DownloadError);
      expect(error).toMatchObject({ code: 'ERR_DOWNLOAD', attempts: 4 });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(4);
      await expectUntouched();
    });

    it('makes one attempt with retry: false', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('InternalError', 500));
      const error = await rejection(downloadS3Object({ client, source: 's3://registry-prod/k', target, retry: false }));
      expect(error).toMatchObject({ code: 'ERR_DOWNLOAD', attempts: 1 });
    });

    it('abandons an attempt that receives nothing for idleTimeoutMs', async () => {
      s3.on(GetObjectCommand).callsFake(() => ({ Body: stalledBody('{"'), ContentLength: 50, ETag: '"e"' }));
      const error = await rejection(
        downloadS3Object({
          client,
          source: 's3://registry-prod/k',
          target,
          idleTimeoutMs: 50,
          retry: { retries: 1, minDelayMs: 1 },
        }),
      );
      expect(error).toMatchObject({ code: 'ERR_DOWNLOAD', attempts: 2 });
      expect((error as Error).message).toMatch(/No data for 50 ms/);
      await expectUntouched();
    });
  });

  describe('abort', () => {
    it('fails with ERR_ABORTED and the reason as cause when aborted mid-stream', async () => {
      const controller = new AbortController();
      s3.on(GetObjectCommand).resolves({ Body: stalledBody('{"'), ContentLength: 50, ETag: '"e"' });
      const reason = new Error('shutting down');
      const pending = downloadS3Object({
        client,
        source: 's3://registry-prod/k',
        target,
        signal: controller.signal,
        onProgress: () => controller.abort(reason),
      });
      const error = await rejection(pending);
      expect(error).toBeInstanceOf(AbortedError);
      expect((error as AbortedError).cause).toBe(reason);
      await expectUntouched();
    });

    it('makes no request when the signal is already aborted', async () => {
      const error = await rejection(
        downloadS3Object({ client, source: 's3://registry-prod/k', target, signal: AbortSignal.abort() }),
      );
      expect(error).toBeInstanceOf(AbortedError);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    });
  });

  describe('options', () => {
    it.each([
      [{ target: '' }, TypeError, /target/],
      [{ maxBytes: 0 }, RangeError, /maxBytes/],
      [{ maxBytes: 1.5 }, RangeError, /maxBytes/],
      [{ idleTimeoutMs: -1 }, RangeError, /idleTimeoutMs/],
      [{ retry: { retries: -1 } }, RangeError, /retry.retries/],
      [{ ifMatch: '' }, TypeError, /ifMatch/],
      [{ verify: 'yes' }, TypeError, /verify/],
      [{ client: {} }, TypeError, /client/],
      [{ source: { bucket: 'b-1' } }, TypeError, /source/],
    ])('refuses %j', async (override, type, message) => {
      const options = { client, source: 's3://registry-prod/k', target, ...override } as never;
      await expect(downloadS3Object(options)).rejects.toThrow(type);
      await expect(downloadS3Object(options)).rejects.toThrow(message);
    });

    it('refuses an invalid source URL with S3UrlError', async () => {
      await expect(downloadS3Object({ client, source: 'https://evil.com/b/k', target })).rejects.toMatchObject({
        code: 'ERR_S3_URL',
      });
    });
  });
});

describe('sweepTempFiles', () => {
  it('removes only the temp files downloads leave, and returns their paths', async () => {
    const ours = join(dir.path, '.registry.json.0123456789abcdef.s3-sqs-sync.tmp');
    const theirs = [join(dir.path, 'registry.json'), join(dir.path, 'other.tmp'), join(dir.path, '.x.s3-sqs-sync.tmp')];
    await writeFile(ours, 'partial');
    for (const path of theirs.slice(1)) await writeFile(path, 'keep');
    expect(await sweepTempFiles(dir.path)).toEqual([ours]);
    expect(await leftovers(dir.path)).toEqual(['.x.s3-sqs-sync.tmp']);
  });

  it('keeps temp files younger than olderThanMs', async () => {
    const young = join(dir.path, '.a.0123456789abcdef.s3-sqs-sync.tmp');
    const old = join(dir.path, '.b.0123456789abcdef.s3-sqs-sync.tmp');
    await writeFile(young, '');
    await writeFile(old, '');
    const hourAgo = new Date(Date.now() - 3_600_000);
    await utimes(old, hourAgo, hourAgo);
    expect(await sweepTempFiles(dir.path, { olderThanMs: 60_000 })).toEqual([old]);
  });
});
