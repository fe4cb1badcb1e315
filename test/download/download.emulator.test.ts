import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { watch } from 'node:fs';
import { copyFile, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { FetchHttpHandler } from '@smithy/fetch-http-handler';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadS3Object, sweepTempFiles } from '../../src/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { type Fault, type FaultProxy, startFaultProxy } from '../support/fault-proxy.ts';
import { fileHash, leftovers, sha256, tempDir } from '../support/files.ts';
import { fixturePath } from '../support/fixtures.ts';

const FAST_RETRY = { retries: 2, minDelayMs: 1, maxDelayMs: 5 } as const;

describe('downloadS3Object over HTTP (fauxqs behind a fault proxy)', () => {
  let emu: Emulator;
  let proxy: FaultProxy;
  let viaProxy: S3Client;
  let bucket: string;
  let oldBytes: Buffer; // what the target holds before each test: registry-v0-sample.json
  let newBytes: Buffer; // what S3 holds: the 500 KB registry seed
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let target: string;

  beforeAll(async () => {
    emu = await startEmulator();
    proxy = await startFaultProxy(emu.endpoint);
    viaProxy = new S3Client(emu.clientConfig(proxy.endpoint));
    bucket = emu.uniqueName('downloads');
    oldBytes = await readFile(fixturePath('registry-v0-sample.json'));
    newBytes = await readFile(fixturePath('mcp-registry-seed-2025-05-16.json'));
    await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await emu.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: newBytes, ChecksumAlgorithm: 'CRC32' }),
    );
  });

  afterAll(async () => {
    viaProxy.destroy();
    await proxy.stop();
    await emu.stop();
  });

  beforeEach(async () => {
    dir = await tempDir();
    target = join(dir.path, 'registry.json');
    await copyFile(fixturePath('registry-v0-sample.json'), target);
  });

  afterEach(async () => {
    await dir.cleanup();
  });

  it('downloads the object and the SDK validates its CRC32', async () => {
    const result = await downloadS3Object({ client: viaProxy, source: `s3://${bucket}/registry.json`, target });
    expect(result).toMatchObject({ status: 'downloaded', bytes: newBytes.length, attempts: 1 });
    expect(result.status === 'downloaded' && result.checksum).toMatchObject({ algorithm: 'CRC32', validated: true });
    expect(await fileHash(target)).toBe(sha256(newBytes));
    expect(await leftovers(dir.path)).toEqual([]);
  });

  it('returns not-modified for the ETag it already has', async () => {
    const first = await downloadS3Object({ client: viaProxy, source: `s3://${bucket}/registry.json`, target });
    if (first.status !== 'downloaded') throw new Error('expected a download');
    const second = await downloadS3Object({
      client: viaProxy,
      source: `s3://${bucket}/registry.json`,
      target,
      ifNoneMatch: first.etag,
    });
    expect(second).toStrictEqual({ status: 'not-modified', etag: first.etag });
  });

  it('refuses an object over maxBytes from its Content-Length', async () => {
    await expect(
      downloadS3Object({ client: viaProxy, source: `s3://${bucket}/registry.json`, target, maxBytes: 1000 }),
    ).rejects.toMatchObject({ code: 'ERR_TOO_LARGE', bytes: newBytes.length });
    expect(await fileHash(target)).toBe(sha256(oldBytes));
  });

  it('maps a missing key to ERR_NOT_FOUND', async () => {
    await expect(
      downloadS3Object({ client: viaProxy, source: `s3://${bucket}/missing.json`, target, retry: FAST_RETRY }),
    ).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(await fileHash(target)).toBe(sha256(oldBytes));
  });

  const faults: [string, Fault][] = [
    ['500 InternalError', { kind: 'status', status: 500, code: 'InternalError' }],
    ['503 SlowDown', { kind: 'status', status: 503, code: 'SlowDown' }],
    ['503 ServiceUnavailable', { kind: 'status', status: 503, code: 'ServiceUnavailable' }],
    ['a connection reset before the response', { kind: 'reset' }],
    ['a body cut after 64 KiB', { kind: 'cut', afterBytes: 64 * 1024 }],
    ['a body cut after 1 byte', { kind: 'cut', afterBytes: 1 }],
    ['a body that stalls after 64 KiB', { kind: 'stall', afterBytes: 64 * 1024 }],
  ];

  describe.each(faults)('with %s', (_name, fault) => {
    it('retries and writes the complete new object, leaving no temp file', async () => {
      proxy.inject(fault);
      const result = await downloadS3Object({
        client: viaProxy,
        source: `s3://${bucket}/registry.json`,
        target,
        retry: FAST_RETRY,
        idleTimeoutMs: 1000,
      });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 2 });
      expect(await fileHash(target)).toBe(sha256(newBytes));
      expect(await leftovers(dir.path)).toEqual([]);
    });

    it('keeps the old file whole when the fault outlasts the retries', async () => {
      proxy.inject(fault, fault, fault);
      await expect(
        downloadS3Object({
          client: viaProxy,
          source: `s3://${bucket}/registry.json`,
          target,
          retry: FAST_RETRY,
          idleTimeoutMs: 1000,
        }),
      ).rejects.toMatchObject({ code: 'ERR_DOWNLOAD', attempts: 3 });
      expect(await fileHash(target)).toBe(sha256(oldBytes));
      expect(await leftovers(dir.path)).toEqual([]);
    });
  });

  it('reads a versioned bucket with a GetObject-only role: a cut body is retried with If-Match, no VersionId', async () => {
    const versioned = await startFaultProxy(emu.endpoint, { versionId: 'v-3HL4kqtJlcpXroDTDmJ' });
    const client = new S3Client(emu.clientConfig(versioned.endpoint));
    try {
      versioned.inject({ kind: 'cut', afterBytes: 64 * 1024 });
      const result = await downloadS3Object({
        client,
        source: `s3://${bucket}/registry.json`,
        target,
        retry: FAST_RETRY,
      });
      expect(result).toMatchObject({ status: 'downloaded', attempts: 2, versionId: 'v-3HL4kqtJlcpXroDTDmJ' });
      expect(await fileHash(target)).toBe(sha256(newBytes));
      expect(versioned.seen.map((get) => /[?&]versionId=/.test(get.url))).toEqual([false, false]);
      expect(versioned.seen[1]?.ifMatch).toBe(result.status === 'downloaded' ? result.etag : 'none');
    } finally {
      client.destroy();
      await versioned.stop();
    }
  });

  it('downloads through FetchHttpHandler, whose bodies are web streams', async () => {
    const client = new S3Client({ ...emu.clientConfig(proxy.endpoint), requestHandler: new FetchHttpHandler() });
    try {
      const result = await downloadS3Object({ client, source: `s3://${bucket}/registry.json`, target });
      expect(result).toMatchObject({ status: 'downloaded', bytes: newBytes.length });
      expect(await fileHash(target)).toBe(sha256(newBytes));
      expect(await leftovers(dir.path)).toEqual([]);
    } finally {
      client.destroy();
    }
  });

  it('leaves the target intact when killed with SIGKILL mid-download; sweepTempFiles removes the leftover', async () => {
    proxy.inject({ kind: 'stall', afterBytes: 64 * 1024 });
    const script = fileURLToPath(new URL('../support/download-child.ts', import.meta.url));
    const child = spawn(process.execPath, [script, proxy.endpoint, bucket, 'registry.json', target], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    const exited = once(child, 'exit');
    const lines = createInterface({ input: child.stdout });
    const [first] = (await once(lines, 'line')) as [string];
    expect(first).toBe('receiving');

    // Wait (on file-system events) until the temp file holds bytes, then kill. The watcher
    // starts before the first look, so no write can slip between the two.
    const hasBytes = async () => {
      const [name] = await leftovers(dir.path);
      if (name === undefined) return false;
      const size = (await stat(join(dir.path, name)).catch(() => undefined))?.size ?? 0;
      return size > 0;
    };
    await new Promise<void>((resolve, reject) => {
      const check = () =>
        hasBytes().then((yes) => {
          if (yes) {
            watcher.close();
            resolve();
          }
        }, reject);
      const watcher = watch(dir.path, () => void check());
      void check();
    });
    // A sweep while the child still runs (another replica in a rolling deploy) keeps its file.
    expect(await sweepTempFiles(dir.path)).toEqual([]);
    expect(await leftovers(dir.path)).toHaveLength(1);
    child.kill('SIGKILL');
    const [, signal] = (await exited) as [number | null, string | null];
    expect(signal).toBe('SIGKILL');

    expect(await fileHash(target)).toBe(sha256(oldBytes));
    expect(await leftovers(dir.path)).toHaveLength(1);
    const removed = await sweepTempFiles(dir.path);
    expect(removed).toHaveLength(1);
    expect(await leftovers(dir.path)).toEqual([]);
    expect(await fileHash(target)).toBe(sha256(oldBytes));
  });
});
