import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ReadableStream } from 'node:stream/web';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AbortedError, downloadS3Object, VerifyFailedError } from '../../src/index.ts';
import { leftovers, tempDir } from '../support/files.ts';
import { client, cutBody, FAST_RETRY, heldBody, NEW, OLD, ok, rejection, serviceError } from './mock-s3.ts';

const s3 = mockClient(S3Client);
const source = 's3://registry-prod/registry.json';
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

function webBody(content: string, onCancel?: () => void) {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new Uint8Array(Buffer.from(content)));
      if (onCancel === undefined) controller.close();
    },
    ...(onCancel === undefined ? {} : { cancel: onCancel }),
  });
}

describe('downloadS3Object', () => {
  describe('GetObject input', () => {
    it('sends expectedBucketOwner and the pass-through fields as given', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      await downloadS3Object({
        client,
        source,
        target,
        expectedBucketOwner: '111122223333',
        getObjectInput: {
          SSECustomerAlgorithm: 'AES256',
          SSECustomerKey: 'a'.repeat(32),
          RequestPayer: 'requester',
          ResponseContentType: 'application/json',
        },
      });
      expect(s3.commandCalls(GetObjectCommand)[0]?.args[0].input).toStrictEqual({
        Bucket: 'registry-prod',
        Key: 'registry.json',
        ChecksumMode: 'ENABLED',
        ExpectedBucketOwner: '111122223333',
        SSECustomerAlgorithm: 'AES256',
        SSECustomerKey: 'a'.repeat(32),
        RequestPayer: 'requester',
        ResponseContentType: 'application/json',
      });
    });

    it.each([
      [{ getObjectInput: { Range: 'bytes=0-9' } }, TypeError, /getObjectInput.Range/],
      [{ getObjectInput: { VersionId: 'v1' } }, TypeError, /getObjectInput.VersionId/],
      [{ getObjectInput: { ExpectedBucketOwner: '111122223333' } }, TypeError, /getObjectInput.ExpectedBucketOwner/],
      [{ getObjectInput: 'x' }, TypeError, /getObjectInput/],
      [{ expectedBucketOwner: 'me' }, TypeError, /expectedBucketOwner/],
      [{ idleTimeoutMs: 2 ** 31 }, RangeError, /idleTimeoutMs/],
      [{ idleTimeoutMs: 0 }, RangeError, /idleTimeoutMs/],
      [{ mode: 0o10000 }, RangeError, /mode/],
    ])('refuses %j', async (override, type, message) => {
      const options = { client, source, target, ...override } as never;
      await expect(downloadS3Object(options)).rejects.toThrow(type);
      await expect(downloadS3Object(options)).rejects.toThrow(message);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    });
  });

  describe('idleTimeoutMs', () => {
    it.each([[Number.POSITIVE_INFINITY], [false as const]])('%s turns the idle timeout off', async (idleTimeoutMs) => {
      // The rest of the body comes on a later turn of the event loop: a 1 ms timer (what
      // setTimeout makes of Infinity) would have abandoned the attempt by then.
      const held = heldBody(NEW.slice(0, 5), NEW.slice(5));
      s3.on(GetObjectCommand).resolves({ Body: held.body, ContentLength: NEW.length, ETag: '"e"' });
      const pending = downloadS3Object({
        client,
        source,
        target,
        idleTimeoutMs,
        retry: false,
        onProgress: () => setTimeout(held.release, 20),
      });
      await expect(pending).resolves.toMatchObject({ status: 'downloaded', attempts: 1 });
    });
  });

  describe('web stream bodies (FetchHttpHandler)', () => {
    it('accepts a web ReadableStream body', async () => {
      s3.on(GetObjectCommand).resolves({ Body: webBody(NEW) as never, ContentLength: NEW.length, ETag: '"e"' });
      const result = await downloadS3Object({ client, source, target });
      expect(result).toMatchObject({ status: 'downloaded', bytes: NEW.length });
      expect(await readFile(target, 'utf8')).toBe(NEW);
    });

    it('cancels a web body it refuses, so the connection is released', async () => {
      let cancelled = false;
      const stream = webBody('x'.repeat(100), () => {
        cancelled = true;
      });
      s3.on(GetObjectCommand).resolves({ Body: stream as never, ContentLength: 100, ETag: '"e"' });
      await expect(downloadS3Object({ client, source, target, maxBytes: 10 })).rejects.toMatchObject({
        code: 'ERR_TOO_LARGE',
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(cancelled).toBe(true);
    });

    it('releases a body of an unknown kind and fails with ERR_DOWNLOAD', async () => {
      let cancelled = false;
      const odd = {
        cancel: async () => {
          cancelled = true;
        },
      };
      s3.on(GetObjectCommand).resolves({ Body: odd as never, ContentLength: 3, ETag: '"e"' });
      await expect(downloadS3Object({ client, source, target, retry: false })).rejects.toMatchObject({
        code: 'ERR_DOWNLOAD',
      });
      expect(cancelled).toBe(true);
    });
  });

  describe('verify', () => {
    it('gets a signal that aborts with the download; the abort wins and the target is kept', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW));
      const controller = new AbortController();
      const reason = new Error('shutting down');
      let seen: AbortSignal | undefined;
      const error = await rejection(
        downloadS3Object({
          client,
          source,
          target,
          signal: controller.signal,
          verify: (_tempPath, _info, { signal }) => {
            seen = signal;
            controller.abort(reason);
            signal.throwIfAborted();
          },
        }),
      );
      expect(seen?.aborted).toBe(true);
      expect(error).toBeInstanceOf(AbortedError);
      expect((error as AbortedError).cause).toBe(reason);
      expect(await readFile(target, 'utf8')).toBe(OLD);
      expect(await leftovers(dir.path)).toEqual([]);
    });

    it('names the object and the target when it refuses, not the deleted temp file', async () => {
      s3.on(GetObjectCommand).resolves(ok(NEW, { VersionId: 'v9' }));
      const error = await rejection(
        downloadS3Object({
          client,
          source,
          target,
          verify: (tempPath) => {
            throw new Error(`${tempPath.slice(dir.path.length + 1)} is not valid JSON`);
          },
        }),
      );
      expect(error).toBeInstanceOf(VerifyFailedError);
      expect(error).toMatchObject({
        bucket: 'registry-prod',
        key: 'registry.json',
        etag: '"etag-new"',
        versionId: 'v9',
        path: target,
      });
      const { message } = error as Error;
      expect(message).toContain('s3://registry-prod/registry.json');
      expect(message).toContain(target);
      expect(message).toContain('the downloaded file is not valid JSON');
      expect(message).not.toContain('.s3-sqs-sync.tmp');
    });
  });

  describe('error context', () => {
    it('carries the versionId asked for', async () => {
      s3.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403));
      await expect(downloadS3Object({ client, source, target, versionId: 'v3' })).rejects.toMatchObject({
        code: 'ERR_ACCESS_DENIED',
        versionId: 'v3',
      });
    });

    it('carries the etag and versionId S3 answered with when the retries run out', async () => {
      s3.on(GetObjectCommand).callsFake(() => ({
        Body: cutBody('{"'),
        ContentLength: 50,
        ETag: '"e4"',
        VersionId: 'v4',
      }));
      await expect(downloadS3Object({ client, source, target, retry: FAST_RETRY })).rejects.toMatchObject({
        code: 'ERR_DOWNLOAD',
        etag: '"e4"',
        versionId: 'v4',
      });
    });
  });

  describe('downloads to one target', () => {
    it('run one at a time in call order, so the newest call is the one left', async () => {
      const older = heldBody('{"servers":', '["older"]}');
      s3.on(GetObjectCommand)
        .resolvesOnce({ Body: older.body, ContentLength: 21, ETag: '"older"' })
        .resolvesOnce(ok(NEW, { ETag: '"newer"' }));
      // The older body is slow: its rest comes well after the newer download could have finished.
      const first = downloadS3Object({ client, source, target, onProgress: () => setTimeout(older.release, 100) });
      // Called second; without the queue its quick body would land first and be overwritten.
      const second = downloadS3Object({ client, source, target });
      const results = await Promise.all([first, second]);
      expect(results.map((r) => r.etag)).toEqual(['"older"', '"newer"']);
      expect(await readFile(target, 'utf8')).toBe(NEW);
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    });

    it('lets a queued download be aborted while it waits, without its request', async () => {
      const held = heldBody('{"servers":', '["older"]}');
      s3.on(GetObjectCommand).resolvesOnce({ Body: held.body, ContentLength: 21, ETag: '"older"' });
      const controller = new AbortController();
      const first = downloadS3Object({ client, source, target, onProgress: () => controller.abort() });
      const queued = downloadS3Object({ client, source, target, signal: controller.signal });
      await expect(queued).rejects.toBeInstanceOf(AbortedError);
      held.release();
      await expect(first).resolves.toMatchObject({ etag: '"older"' });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    });
  });

  describe('abort', () => {
    it('is an abort only if it came before the rename: the result always matches the target', async () => {
      s3.on(GetObjectCommand).callsFake(() => ok(NEW));
      const turn = () => new Promise((resolve) => setImmediate(resolve));
      // How many turns of the event loop a whole download takes here; abort at each of them.
      let turns = 0;
      let finished = false;
      const whole = downloadS3Object({ client, source, target }).finally(() => {
        finished = true;
      });
      while (!finished) {
        await turn();
        turns++;
      }
      await whole;
      const step = Math.max(1, Math.ceil(turns / 60));
      const outcomes = new Set<string>();
      // On past the measured length until an abort comes after the rename: under load a download
      // can take more turns than the measured one did.
      const enough = (ticks: number) => ticks <= turns + step || (!outcomes.has('downloaded') && ticks <= 50 * turns);
      for (let ticks = 0; enough(ticks); ticks += step) {
        await writeFile(target, OLD);
        const controller = new AbortController();
        const pending = downloadS3Object({ client, source, target, signal: controller.signal });
        for (let i = 0; i < ticks; i++) await turn();
        controller.abort();
        const outcome = await pending.then(
          () => 'downloaded',
          (error: unknown) => (error as { code?: string }).code ?? String(error),
        );
        const content = await readFile(target, 'utf8');
        expect([outcome, content]).toEqual(outcome === 'downloaded' ? ['downloaded', NEW] : ['ERR_ABORTED', OLD]);
        expect(await leftovers(dir.path)).toEqual([]);
        outcomes.add(outcome);
      }
      // The loop covered both sides of the rename.
      expect([...outcomes].sort()).toEqual(['ERR_ABORTED', 'downloaded']);
    });
  });
});
