import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type RunningUploadProcessor, startUploadProcessor } from '../../examples/s3-upload-processor/app.ts';
import { upload } from '../../examples/s3-upload-processor/local.ts';
import {
  fileName,
  resultId,
  settleEach,
  UploadProcessor,
  type UploadProcessorEvents,
  type UploadProcessorOptions,
  type UploadResult,
} from '../../examples/s3-upload-processor/processor.ts';
import { SqsListener } from '../../src/index.ts';
import { createQueue, type Emulator, sendMessages, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';

const API_KEY = 'test-api-key-0123456789abcdef';
const root = new URL('../../', import.meta.url).pathname;

let emulator: Emulator;
let bucket: string;
let foreignBucket: string;
const dirs: string[] = [];
/** Buckets of the GetObject calls the processor's S3 client sent. */
const fetchedBuckets: string[] = [];
let s3: S3Client;

beforeAll(async () => {
  emulator = await startEmulator();
  bucket = emulator.uniqueName('uploads');
  foreignBucket = emulator.uniqueName('foreign');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  await emulator.s3.send(new CreateBucketCommand({ Bucket: foreignBucket }));
  s3 = new S3Client(emulator.clientConfig());
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'GetObjectCommand') fetchedBuckets.push((args.input as { Bucket: string }).Bucket);
      return next(args);
    },
    { step: 'initialize' },
  );
});
afterAll(async () => {
  s3?.destroy();
  await emulator?.stop();
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 's3-upload-processor-'));
  dirs.push(dir);
  return dir;
}

async function put(key: string, body: string | Uint8Array, into = bucket): Promise<string> {
  const { ETag = '' } = await emulator.s3.send(new PutObjectCommand({ Bucket: into, Key: key, Body: body }));
  return ETag.replaceAll('"', '');
}

/** Resolves with the arguments of the first `count` times `event` fires. */
function collect<E extends keyof UploadProcessorEvents>(
  processor: UploadProcessor,
  event: E,
  count: number,
): Promise<UploadProcessorEvents[E][0][]> {
  return new Promise((resolve) => {
    const seen: UploadProcessorEvents[E][0][] = [];
    const listener = (value: UploadProcessorEvents[E][0]) => {
      seen.push(value);
      if (seen.length === count) {
        processor.off(event, listener as never);
        resolve(seen);
      }
    };
    processor.on(event, listener as never);
  });
}

interface ApiBody {
  readonly error?: string;
  readonly total?: number;
  readonly results?: UploadResult[];
}

async function get<T = ApiBody>(
  url: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: T }> {
  const response = await fetch(url, { headers });
  return { status: response.status, body: (await response.json()) as T };
}

const withKey = { authorization: `Bearer ${API_KEY}` };

describe('examples/s3-upload-processor, in process', () => {
  let running: RunningUploadProcessor;
  let queueUrl: string;
  let workDir: string;
  let results: UploadResult[];
  const notes = 'Hello upload world\nsecond line, five words\n\nlast line without newline';
  const long = `# Title ✓\n\n${'word '.repeat(80)}🙂 tail`;
  let notesEtag: string;

  beforeAll(async () => {
    workDir = join(await tempDir(), 'work');
    queueUrl = (await createQueue(emulator)).url;
    running = await startUploadProcessor({
      apiKey: API_KEY,
      queueUrl,
      allow: { buckets: [bucket], keyPrefixes: ['incoming/'] },
      workDir,
      port: 0,
      s3,
      sqs: emulator.sqs,
      waitTimeSeconds: 1,
      rateLimit: { limit: 1000 },
    });

    notesEtag = await put('incoming/notes.txt', notes);
    const longEtag = await put('incoming/docs/long.md', long);
    const binary = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]);
    const binaryEtag = await put('incoming/image.png', binary);
    const foreignEtag = await put('incoming/secret.txt', 'not yours', foreignBucket);
    const outsideEtag = await put('elsewhere/notes.txt', 'outside the prefix');

    const recorded = collect(running.processor, 'result', 3);
    const skipped = collect(running.processor, 'skipped', 2);
    await sendMessages(emulator, queueUrl, [
      // Two records in one message, as S3 may send them.
      s3EventBody(
        { bucket, key: 'incoming/notes.txt', eTag: notesEtag, sequencer: sequencer(1) },
        { bucket, key: 'incoming/docs/long.md', eTag: longEtag, sequencer: sequencer(2) },
      ),
      s3EventBody({ bucket, key: 'incoming/image.png', eTag: binaryEtag, sequencer: sequencer(3) }),
      s3EventBody({ bucket: foreignBucket, key: 'incoming/secret.txt', eTag: foreignEtag, sequencer: sequencer(4) }),
      s3EventBody({ bucket, key: 'elsewhere/notes.txt', eTag: outsideEtag, sequencer: sequencer(5) }),
    ]);
    results = await recorded;
    expect((await skipped).map((s) => s.reason)).toStrictEqual(['not-allowed', 'not-allowed']);
  });
  afterAll(async () => {
    await running?.stop();
  });

  const byKey = (key: string) => results.find((result) => result.key === key);

  it('counts lines, words and bytes of each text file and keeps a short extract', () => {
    expect(byKey('incoming/notes.txt')).toMatchObject({
      status: 'processed',
      url: `s3://${bucket}/incoming/notes.txt`,
      etag: notesEtag,
      stats: {
        bytes: Buffer.byteLength(notes),
        lines: 4,
        words: 11,
        extract: notes,
        truncated: false,
        contentType: 'text/plain; charset=utf-8',
      },
    });
    const stats = byKey('incoming/docs/long.md')?.stats;
    expect(stats).toMatchObject({ bytes: Buffer.byteLength(long), lines: 3, words: 85, truncated: true });
    expect(stats?.contentType).toBe('text/markdown; charset=utf-8');
    expect(Array.from(stats?.extract ?? '')).toHaveLength(200);
    expect(long.startsWith(stats?.extract ?? '-')).toBe(true);
  });

  it('records a binary file as failed, and never puts it in the work directory', async () => {
    const failed = byKey('incoming/image.png');
    expect(failed?.status).toBe('failed');
    expect(failed?.error?.code).toBe('ERR_VERIFY_FAILED');
    expect(failed?.error?.message).toContain('a NUL byte at offset 8');
    expect(failed?.error?.message).not.toContain(workDir);
    const files = (await readdir(workDir)).sort();
    expect(files).toStrictEqual(
      [fileName(`s3://${bucket}/incoming/notes.txt`), fileName(`s3://${bucket}/incoming/docs/long.md`)].sort(),
    );
    expect(files.every((name) => /^[0-9a-f]{32}\.(txt|md)$/.test(name))).toBe(true);
  });

  it('never fetches from a bucket or prefix nobody allowed', () => {
    expect(fetchedBuckets).not.toContain(foreignBucket);
    expect(results.map((result) => result.key)).not.toContain('elsewhere/notes.txt');
  });

  it('serves the results behind the API key', async () => {
    const list = await get(`${running.url}/results`, withKey);
    expect(list.status).toBe(200);
    expect(list.body.total).toBe(3);
    expect((list.body.results ?? []).map((r) => r.key).sort()).toStrictEqual(
      ['incoming/docs/long.md', 'incoming/image.png', 'incoming/notes.txt'].sort(),
    );
    const failedOnly = await get(`${running.url}/results?status=failed`, { 'x-api-key': API_KEY });
    expect((failedOnly.body.results ?? []).map((r) => r.key)).toStrictEqual(['incoming/image.png']);

    const id = resultId(`s3://${bucket}/incoming/notes.txt`, notesEtag);
    const one = await get<UploadResult>(`${running.url}/results/${id}`, { 'x-api-key': API_KEY });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id, status: 'processed', stats: { words: 11 } });
    expect((await get(`${running.url}/results/nope`, withKey)).status).toBe(404);
  });

  it('answers 400 to a limit that is not a positive integer, or a status that is not one', async () => {
    for (const query of ['limit=0', 'limit=-1', 'limit=ten', 'limit=1.5', 'limit=1&limit=2', 'status=bogus']) {
      const answer = await get(`${running.url}/results?${query}`, withKey);
      expect(answer).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    }
    expect((await get(`${running.url}/results?status=failed&status=failed`, withKey)).status).toBe(400);
    expect((await get(`${running.url}/results?limit=1`, withKey)).body.results).toHaveLength(1);
    // Any positive integer: more than 1,000 gets what there is, up to 1,000.
    for (const limit of ['007', '1000000']) {
      expect((await get(`${running.url}/results?limit=${limit}`, withKey)).status).toBe(200);
    }
  });

  it('answers 401 without a key, and with a wrong key of the same or another length', async () => {
    const wrongSameLength = `${API_KEY.slice(0, -1)}X`;
    for (const headers of [
      {},
      { authorization: `Bearer ${wrongSameLength}` },
      { 'x-api-key': wrongSameLength },
      { authorization: 'Bearer short' },
      { 'x-api-key': `${API_KEY}-longer` },
      { authorization: `Basic ${Buffer.from(`user:${API_KEY}`).toString('base64')}` },
    ]) {
      const list = await get(`${running.url}/results`, headers);
      expect(list.status, JSON.stringify(headers)).toBe(401);
      expect(list.body.error).toBe('unauthorized');
      expect((await get(`${running.url}/results/anything`, headers)).status).toBe(401);
    }
  });

  it('reports health without a key: 200 while the listener runs', async () => {
    const health = await get(`${running.url}/health`);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', results: 3, listener: { status: 'running', degraded: false } });
  });

  it('skips a redelivered version as a duplicate', async () => {
    const skipped = collect(running.processor, 'skipped', 1);
    await sendMessages(emulator, queueUrl, [
      s3EventBody({ bucket, key: 'incoming/notes.txt', eTag: notesEtag, sequencer: sequencer(1) }),
    ]);
    expect(await skipped).toStrictEqual([{ url: `s3://${bucket}/incoming/notes.txt`, reason: 'duplicate' }]);
    expect(running.processor.size).toBe(3);
  });

  it('acknowledges and reports a message that announces nothing readable', async () => {
    const rejected = collect(running.processor, 'rejected', 1);
    await sendMessages(emulator, queueUrl, ['{"hello":"world"}']);
    const [rejection] = await rejected;
    expect(rejection?.error).toMatchObject({ code: 'ERR_MESSAGE' });
  });

  it('marks the result deleted, and removes its copy, when a removal is announced', async () => {
    const url = `s3://${bucket}/incoming/notes.txt`;
    const removed = collect(running.processor, 'removed', 1);
    await sendMessages(emulator, queueUrl, [
      s3EventBody({ bucket, key: 'incoming/notes.txt', eventName: 'ObjectRemoved:Delete', sequencer: sequencer(9) }),
    ]);
    expect(await removed).toStrictEqual([{ url, marked: 1 }]);
    const one = await get<UploadResult>(`${running.url}/results/${resultId(url, notesEtag)}`, withKey);
    expect(Date.parse(one.body.deletedAt ?? '')).not.toBeNaN();
    expect(existsSync(join(workDir, fileName(url)))).toBe(false);

    // An event S3 ordered before the removal is stale: the object is not fetched again.
    const skipped = collect(running.processor, 'skipped', 1);
    const gets = fetchedBuckets.length;
    await sendMessages(emulator, queueUrl, [
      s3EventBody({ bucket, key: 'incoming/notes.txt', eTag: 'feedface', sequencer: sequencer(8) }),
    ]);
    expect(await skipped).toStrictEqual([{ url, reason: 'stale' }]);
    expect(fetchedBuckets.length).toBe(gets);
  });
});

describe('UploadProcessor.handleMessage', () => {
  const context = () => ({ signal: new AbortController().signal, receiveCount: 1 });
  const message = (body: string) => ({ MessageId: 'm-1', Body: body });
  const processor = async (options: Partial<UploadProcessorOptions> = {}) =>
    new UploadProcessor({ s3, workDir: await tempDir(), allow: { buckets: [bucket] }, ...options });

  it('skips an object overwritten since its event (412 on If-Match) as superseded', async () => {
    const first = await put('superseded.txt', 'first version');
    await put('superseded.txt', 'second version');
    const uploads = await processor();
    const skipped = collect(uploads, 'skipped', 1);
    await uploads.handleMessage(message(s3EventBody({ bucket, key: 'superseded.txt', eTag: first })), context());
    expect(await skipped).toStrictEqual([{ url: `s3://${bucket}/superseded.txt`, reason: 'superseded' }]);
    expect(uploads.size).toBe(0);
  });

  it('records an object over maxBytes as failed, without fetching its body', async () => {
    const eTag = await put('large.txt', 'x'.repeat(2048));
    const uploads = await processor({ maxBytes: 1024 });
    await uploads.handleMessage(message(s3EventBody({ bucket, key: 'large.txt', eTag })), context());
    expect(uploads.results()).toMatchObject([{ key: 'large.txt', status: 'failed', error: { code: 'ERR_TOO_LARGE' } }]);
  });

  it('throws for a failure a retry may fix, so SQS delivers the message again, and records nothing', async () => {
    const unreachable = new S3Client(emulator.clientConfig('http://127.0.0.1:1'));
    try {
      const uploads = await processor({ s3: unreachable });
      const eTag = await put('later.txt', 'comes later');
      await expect(
        uploads.handleMessage(message(s3EventBody({ bucket, key: 'later.txt', eTag })), context()),
      ).rejects.toMatchObject({ code: 'ERR_DOWNLOAD' });
      expect(uploads.size).toBe(0);
    } finally {
      unreachable.destroy();
    }
  });

  it('keeps the newest maxResults results, and removes the files only evicted ones used', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ maxResults: 2, workDir });
    const keys = ['evict-a.txt', 'evict-b.txt', 'evict-c.txt'];
    for (const key of keys) {
      const eTag = await put(key, `content of ${key}`);
      await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag })), context());
    }
    expect(uploads.results().map((result) => result.key)).toStrictEqual(['evict-c.txt', 'evict-b.txt']);
    await expect.poll(async () => (await readdir(workDir)).length).toBe(2);
    expect(existsSync(join(workDir, fileName(`s3://${bucket}/evict-a.txt`)))).toBe(false);
  });

  it('lets a removal S3 ordered before a new upload of the same content lose, whatever the arrival order', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ workDir });
    const url = `s3://${bucket}/comes-back.txt`;
    const eTag = await put('comes-back.txt', 'the same content');
    const events = [
      s3EventBody({ bucket, key: 'comes-back.txt', eTag, sequencer: sequencer(1) }),
      // Put again after the removal below, and delivered before it.
      s3EventBody({ bucket, key: 'comes-back.txt', eTag, sequencer: sequencer(3) }),
      s3EventBody({ bucket, key: 'comes-back.txt', eventName: 'ObjectRemoved:Delete', sequencer: sequencer(2) }),
    ];
    const skipped = collect(uploads, 'skipped', 1);
    for (const body of events) await uploads.handleMessage(message(body), context());
    expect(await skipped).toStrictEqual([{ url, reason: 'stale' }]);
    expect(uploads.results()).toMatchObject([{ key: 'comes-back.txt', status: 'processed' }]);
    expect(uploads.results()[0]?.deletedAt).toBeUndefined();
    expect(readFileSync(join(workDir, fileName(url)), 'utf8')).toBe('the same content');
  });

  it('processes content put back after a change again: a newer sequencer is no redelivery', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ workDir });
    const url = `s3://${bucket}/reverted.txt`;
    const first = await put('reverted.txt', 'first words');
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key: 'reverted.txt', eTag: first, sequencer: sequencer(1) })),
      context(),
    );
    const second = await put('reverted.txt', 'second words here');
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key: 'reverted.txt', eTag: second, sequencer: sequencer(2) })),
      context(),
    );
    expect(await put('reverted.txt', 'first words')).toBe(first);
    const recorded = collect(uploads, 'result', 1);
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key: 'reverted.txt', eTag: first, sequencer: sequencer(3) })),
      context(),
    );
    expect(await recorded).toMatchObject([{ etag: first, stats: { words: 2 } }]);
    expect(uploads.results()[0]).toMatchObject({ etag: first });
    expect(readFileSync(join(workDir, fileName(url)), 'utf8')).toBe('first words');

    // The same event again is a redelivery.
    const skipped = collect(uploads, 'skipped', 1);
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key: 'reverted.txt', eTag: first, sequencer: sequencer(3) })),
      context(),
    );
    expect(await skipped).toStrictEqual([{ url, reason: 'duplicate' }]);
  });

  it('marks only the named version on a removal of one version; a delete marker marks them all', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ workDir });
    const url = `s3://${bucket}/versioned.txt`;
    const copy = join(workDir, fileName(url));
    const eTag = await put('versioned.txt', 'current version');
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key: 'versioned.txt', eTag, sequencer: sequencer(1) })),
      context(),
    );
    const remove = async (eventName: string, versionId: string, n: number) => {
      const removed = collect(uploads, 'removed', 1);
      const body = s3EventBody({ bucket, key: 'versioned.txt', eventName, versionId, sequencer: sequencer(n) });
      await uploads.handleMessage(message(body), context());
      return removed;
    };
    expect(await remove('ObjectRemoved:Delete', 'an-older-version', 2)).toStrictEqual([{ url, marked: 0 }]);
    expect(uploads.results()[0]?.deletedAt).toBeUndefined();
    expect(existsSync(copy)).toBe(true);

    const hidden = remove('ObjectRemoved:DeleteMarkerCreated', 'the-delete-marker', 3);
    expect(await hidden).toStrictEqual([{ url, marked: 1 }]);
    expect(existsSync(copy)).toBe(false);
  });

  it('keeps the copy of an evicted result while a newer download of the object is under way', async () => {
    const workDir = await tempDir();
    // While `hold` is set, GetObject of u waits for it.
    let hold: Promise<void> | undefined;
    const gated = new S3Client(emulator.clientConfig());
    gated.middlewareStack.add(
      (next) => async (args) => {
        if ((args.input as { Key?: string }).Key === 'evict-race/u.txt') await hold;
        return next(args);
      },
      { step: 'initialize' },
    );
    try {
      const uploads = await processor({ s3: gated, workDir, maxResults: 1 });
      const u = `s3://${bucket}/evict-race/u.txt`;
      const created = (key: string, eTag: string, n: number) =>
        message(s3EventBody({ bucket, key: `evict-race/${key}`, eTag, sequencer: sequencer(n) }));
      await uploads.handleMessage(created('u.txt', await put('evict-race/u.txt', 'u, first'), 1), context());
      const newer = await put('evict-race/u.txt', 'u, second');
      const v = await put('evict-race/v.txt', 'v');
      const order: string[] = [];
      uploads.on('result', (result) => order.push(`result ${result.key}`));
      uploads.on('evicted', (evicted) => order.push(`evicted ${evicted.url} ${evicted.copyRemoved}`));

      let release!: () => void;
      hold = new Promise<void>((resolve) => {
        release = resolve;
      });
      // u's newer version is under way (held before its GetObject) when v's result evicts u's.
      const uRun = uploads.handleMessage(created('u.txt', newer, 2), context());
      await uploads.handleMessage(created('v.txt', v, 1), context());
      release();
      await uRun;
      await expect.poll(() => order.length).toBe(4);
      expect(order.slice(0, 2)).toStrictEqual(['result evict-race/v.txt', 'result evict-race/u.txt']);
      expect(order).toContain(`evicted ${u} false`);
      expect(readFileSync(join(workDir, fileName(u)), 'utf8')).toBe('u, second');
    } finally {
      gated.destroy();
    }
  });
  it('logs a listener of evicted that throws, and leaves no rejection unhandled', async () => {
    let logged!: (fields: unknown) => void;
    const warned = new Promise<unknown>((resolve) => {
      logged = resolve;
    });
    const uploads = await processor({
      maxResults: 1,
      logger: { warn: (fields: unknown, text?: string) => text === 'eviction failed' && logged(fields) },
    });
    uploads.on('evicted', () => {
      throw new Error('a listener bug');
    });
    for (const key of ['throwing-evicted/a.txt', 'throwing-evicted/b.txt']) {
      const eTag = await put(key, key);
      await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag })), context());
    }
    expect(await warned).toMatchObject({ err: { message: 'a listener bug' } });
  });
});

describe('UploadProcessor, versions and late events', () => {
  const context = () => ({ signal: new AbortController().signal, receiveCount: 1 });
  const message = (body: string) => ({ MessageId: 'm-1', Body: body });
  const processor = async (options: Partial<UploadProcessorOptions> = {}) =>
    new UploadProcessor({ s3, workDir: await tempDir(), allow: { buckets: [bucket] }, ...options });

  /** An S3 client whose GetObject answers carry the version id `versions` holds for the key. */
  function versioned(versions: Map<string, string>): S3Client {
    const client = new S3Client(emulator.clientConfig());
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        const key = (args.input as { Key?: string }).Key ?? '';
        if (context.commandName === 'GetObjectCommand' && versions.has(key)) {
          (result.output as { VersionId?: string | undefined }).VersionId = versions.get(key);
        }
        return result;
      },
      { step: 'initialize', name: 'versionIds' },
    );
    return client;
  }

  it('removes the copy when the version it holds is deleted for good, keeping the older result', async () => {
    const versions = new Map<string, string>();
    const s3v = versioned(versions);
    try {
      const workDir = await tempDir();
      const uploads = new UploadProcessor({ s3: s3v, workDir, allow: { buckets: [bucket] } });
      const key = 'versions/purged.txt';
      const url = `s3://${bucket}/${key}`;
      versions.set(key, 'v1');
      const v1 = await put(key, 'public text');
      await uploads.handleMessage(
        message(s3EventBody({ bucket, key, eTag: v1, versionId: 'v1', sequencer: sequencer(1) })),
        context(),
      );
      versions.set(key, 'v2');
      const v2 = await put(key, 'uploaded by mistake');
      await uploads.handleMessage(
        message(s3EventBody({ bucket, key, eTag: v2, versionId: 'v2', sequencer: sequencer(2) })),
        context(),
      );
      const removed = collect(uploads, 'removed', 1);
      await uploads.handleMessage(
        message(
          s3EventBody({ bucket, key, eventName: 'ObjectRemoved:Delete', versionId: 'v2', sequencer: sequencer(3) }),
        ),
        context(),
      );
      expect(await removed).toStrictEqual([{ url, marked: 1 }]);
      expect(existsSync(join(workDir, fileName(url)))).toBe(false);
      expect(uploads.results().find((result) => result.versionId === 'v1')?.deletedAt).toBeUndefined();
    } finally {
      s3v.destroy();
    }
  });

  it('records the version of a failed result, so a removal of that version marks it', async () => {
    const uploads = await processor();
    const key = 'versions/binary.bin';
    const eTag = await put(key, Uint8Array.from([0, 1, 2, 3]));
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key, eTag, versionId: 'b1', sequencer: sequencer(1) })),
      context(),
    );
    expect(uploads.results()[0]).toMatchObject({ status: 'failed', versionId: 'b1' });
    const removed = collect(uploads, 'removed', 1);
    await uploads.handleMessage(
      message(
        s3EventBody({ bucket, key, eventName: 'ObjectRemoved:Delete', versionId: 'b1', sequencer: sequencer(2) }),
      ),
      context(),
    );
    expect(await removed).toMatchObject([{ marked: 1 }]);
  });

  it('marks everything on an EventBridge delete that left a delete marker', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ workDir });
    const key = 'versions/hidden.txt';
    const url = `s3://${bucket}/${key}`;
    const eTag = await put(key, 'hello');
    await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag, sequencer: sequencer(1) })), context());
    const removed = collect(uploads, 'removed', 1);
    const body = JSON.stringify({
      version: '0',
      id: 'e1',
      'detail-type': 'Object Deleted',
      source: 'aws.s3',
      account: '111122223333',
      time: '2026-11-30T08:00:00Z',
      region: 'us-east-1',
      resources: [],
      detail: {
        version: '0',
        bucket: { name: bucket },
        object: { key, 'version-id': 'marker-1', sequencer: sequencer(2) },
        reason: 'DeleteObject',
        'deletion-type': 'Delete Marker Created',
      },
    });
    await uploads.handleMessage(message(body), context());
    expect(await removed).toStrictEqual([{ url, marked: 1 }]);
    expect(existsSync(join(workDir, fileName(url)))).toBe(false);
  });

  it('remembers the sequencer of a redelivery skipped by ETag, so an older removal is stale', async () => {
    const workDir = await tempDir();
    const uploads = await processor({ workDir });
    const key = 'late/reprocessed.txt';
    const eTag = await put(key, 'same bytes');
    // A reprocess request names no sequencer; then S3's events, the newer delivered first.
    await uploads.handleMessage(message(JSON.stringify({ s3_uri: `s3://${bucket}/${key}` })), context());
    await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag, sequencer: sequencer(9) })), context());
    const skipped = collect(uploads, 'skipped', 1);
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key, eventName: 'ObjectRemoved:Delete', sequencer: sequencer(8) })),
      context(),
    );
    expect(await skipped).toMatchObject([{ reason: 'stale' }]);
    expect(uploads.results()[0]?.deletedAt).toBeUndefined();
  });

  it('keeps the sequencer of an object with a result, however many other keys come and go', async () => {
    const uploads = await processor({ maxResults: 2 });
    const key = 'late/kept.txt';
    const eTag = await put(key, 'kept');
    await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag, sequencer: sequencer(5) })), context());
    for (let n = 0; n < 8; n++) {
      const other = `late/other-${n}.txt`;
      await uploads.handleMessage(
        message(s3EventBody({ bucket, key: other, eventName: 'ObjectRemoved:Delete', sequencer: sequencer(1) })),
        context(),
      );
    }
    const skipped = collect(uploads, 'skipped', 1);
    await uploads.handleMessage(
      message(s3EventBody({ bucket, key, eventName: 'ObjectRemoved:Delete', sequencer: sequencer(4) })),
      context(),
    );
    expect(await skipped).toMatchObject([{ reason: 'stale' }]);
  });

  it('asks for the version a URL names', async () => {
    const asked: (string | undefined)[] = [];
    const watching = new S3Client(emulator.clientConfig());
    watching.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') asked.push((args.input as { VersionId?: string }).VersionId);
        return next(args);
      },
      { step: 'initialize', name: 'watchVersions' },
    );
    try {
      const uploads = await processor({ s3: watching });
      await put('versions/by-url.txt', 'text');
      const url = `s3://${bucket}/versions/by-url.txt?versionId=v1-old`;
      await uploads.handleMessage(message(JSON.stringify({ s3_uri: url })), context()).catch(() => undefined);
      expect(asked).toStrictEqual(['v1-old']);
    } finally {
      watching.destroy();
    }
  });

  it('reports no copy removed when an evicted result never had one', async () => {
    const uploads = await processor({ maxResults: 1 });
    const evicted = collect(uploads, 'evicted', 1);
    for (const [key, body] of [
      ['evict-none/bin.dat', Uint8Array.from([0, 0, 0])],
      ['evict-none/text.txt', 'text'],
    ] as const) {
      const eTag = await put(key, body);
      await uploads.handleMessage(message(s3EventBody({ bucket, key, eTag })), context());
    }
    expect(await evicted).toStrictEqual([{ url: `s3://${bucket}/evict-none/bin.dat`, copyRemoved: false }]);
  });
});

describe('settleEach', () => {
  it('refuses a limit that is not a positive integer, rather than run nothing', async () => {
    for (const limit of [0, -1, Number.NaN, 1.5]) {
      await expect(settleEach([1], limit, async () => {})).rejects.toThrow(RangeError);
    }
  });

  it('runs at most `limit` tasks at once, and settles each like Promise.allSettled', async () => {
    const releases: (() => void)[] = [];
    let running = 0;
    let most = 0;
    const outcomes = settleEach([...Array(12).keys()], 4, async (item) => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => releases.push(resolve));
      running--;
      if (item % 5 === 0) throw new Error(`item ${item}`);
    });
    expect(releases.length).toBe(4);
    while (releases.length > 0) {
      releases.shift()?.();
      await new Promise(setImmediate);
    }
    const settled = await outcomes;
    expect(most).toBe(4);
    expect(settled.map((outcome) => outcome.status)).toStrictEqual(
      [...Array(12).keys()].map((item) => (item % 5 === 0 ? 'rejected' : 'fulfilled')),
    );
  });
});

describe('examples/s3-upload-processor/local.ts upload', () => {
  it('puts the file and sends the event S3 would send, which the processor handles', async () => {
    const queueUrl = (await createQueue(emulator)).url;
    const uploads = new UploadProcessor({ s3, workDir: await tempDir(), allow: { buckets: [bucket] } });
    const listener = new SqsListener({
      client: emulator.sqs,
      queueUrl,
      waitTimeSeconds: 1,
      handleMessage: uploads.handleMessage,
    });
    const path = join(await tempDir(), 'a note+1.txt');
    await writeFile(path, 'a plus and a space\n');
    const recorded = collect(uploads, 'result', 1);
    listener.start();
    try {
      const sent = await upload({ ALLOWED_BUCKETS: bucket, QUEUE_URL: queueUrl }, path, undefined, {
        s3: emulator.s3,
        sqs: emulator.sqs,
      });
      expect(sent.key).toBe('incoming/a note+1.txt');
      expect(await recorded).toMatchObject([{ key: 'incoming/a note+1.txt', etag: sent.eTag, stats: { words: 5 } }]);
    } finally {
      await listener.stop();
    }
  });
});

describe('examples/s3-upload-processor, start and stop', () => {
  const start = async (workDir: string, options: { httpCloseTimeoutMs?: number } = {}) =>
    startUploadProcessor({
      apiKey: API_KEY,
      queueUrl: (await createQueue(emulator)).url,
      allow: { buckets: [bucket] },
      workDir,
      port: 0,
      s3,
      sqs: emulator.sqs,
      waitTimeSeconds: 1,
      ...options,
    });

  it('removes the copies an earlier run left in the work directory, and nothing else', async () => {
    const workDir = await tempDir();
    const earlier = fileName(`s3://${bucket}/from-an-earlier-run.txt`);
    await writeFile(join(workDir, earlier), 'no result refers to it any more');
    await writeFile(join(workDir, 'README.txt'), 'not a copy');
    // A directory with a copy's name is no copy: left alone, and the start goes on.
    const directory = fileName(`s3://${bucket}/a-directory`);
    await mkdir(join(workDir, directory));
    const running = await start(workDir);
    try {
      expect((await readdir(workDir)).sort()).toStrictEqual(['README.txt', directory].sort());
    } finally {
      await running.stop();
    }
  });

  it('stops though a client never finishes its request', async () => {
    const running = await start(await tempDir(), { httpCloseTimeoutMs: 50 });
    const { port } = new URL(running.url);
    const socket = connect(Number(port), '127.0.0.1');
    await once(socket, 'connect');
    // Half a request: Node stops timing out unfinished headers once the server is closing.
    socket.write('GET /results HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const closed = once(socket, 'close');
    await running.stop();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('refuses an API key no client could send', async () => {
    for (const apiKey of ['schlüssel-für-die-ergebnisse', 'correct horse battery staple']) {
      const config = { apiKey, queueUrl: 'http://127.0.0.1:1/q', allow: { buckets: [bucket] }, port: 0 };
      await expect(
        startUploadProcessor({ ...config, workDir: await tempDir(), s3, sqs: emulator.sqs }),
      ).rejects.toThrow('printable ASCII characters without spaces');
    }
  });
});

describe('examples/s3-upload-processor, rate limit', () => {
  let running: RunningUploadProcessor;
  beforeAll(async () => {
    running = await startUploadProcessor({
      apiKey: API_KEY,
      queueUrl: (await createQueue(emulator)).url,
      allow: { buckets: [bucket] },
      workDir: await tempDir(),
      port: 0,
      s3,
      sqs: emulator.sqs,
      waitTimeSeconds: 1,
      rateLimit: { limit: 3, windowMs: 60_000 },
    });
  });
  afterAll(async () => {
    await running?.stop();
  });

  it('answers 429 past the limit, counting requests with a wrong key too, and never limits /health', async () => {
    expect((await get(`${running.url}/results`, withKey)).status).toBe(200);
    expect((await get(`${running.url}/results`, { 'x-api-key': 'wrong-key-wrong-key' })).status).toBe(401);
    expect((await get(`${running.url}/results`, withKey)).status).toBe(200);
    const limited = await fetch(`${running.url}/results`, { headers: withKey });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('ratelimit-policy')).toContain('3');
    expect(await limited.json()).toMatchObject({ error: 'rate_limited' });
    expect((await get(`${running.url}/results`, { 'x-api-key': 'wrong-key-wrong-key' })).status).toBe(429);
    for (let i = 0; i < 5; i++) expect((await get(`${running.url}/health`)).status).toBe(200);
  });

  it('answers 503 on /health once the listener has stopped', async () => {
    await running.listener.stop();
    const health = await get(`${running.url}/health`);
    expect(health.status).toBe(503);
    expect(health.body).toMatchObject({ status: 'stopped', listener: { status: 'stopped' } });
  });
});

describe('examples/s3-upload-processor, as a process', () => {
  let child: ChildProcess | undefined;
  afterEach(() => {
    if (child?.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    child = undefined;
  });

  function start(env: Record<string, string>): { child: ChildProcess; lines: AsyncIterator<string> } {
    const started = spawn(
      process.execPath,
      ['--import', './test/support/source-hooks.mjs', 'examples/s3-upload-processor/server.ts'],
      {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', NODE_NO_WARNINGS: '1', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child = started;
    const lines = createInterface({ input: started.stdout as NodeJS.ReadableStream })[Symbol.asyncIterator]();
    return { child: started, lines };
  }

  async function nextLog(lines: AsyncIterator<string>, message: string): Promise<Record<string, unknown>> {
    for (;;) {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the process ended before logging "${message}"`);
      const entry = JSON.parse(value) as Record<string, unknown>;
      if (entry.msg === message) return entry;
    }
  }

  it('runs from the environment, processes an upload, and exits 0 on SIGTERM', async () => {
    const queueUrl = (await createQueue(emulator)).url;
    const { child, lines } = start({
      API_KEY,
      QUEUE_URL: queueUrl,
      ALLOWED_BUCKETS: bucket,
      WORK_DIR: join(await tempDir(), 'work'),
      PORT: '0',
      AWS_REGION: emulator.region,
      AWS_ENDPOINT_URL_S3: emulator.endpoint,
      AWS_ENDPOINT_URL_SQS: emulator.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const exited = once(child, 'exit');
    const base = String((await nextLog(lines, 'listening')).url);

    const eTag = await put('from-child/readme.txt', 'one two three\n');
    await sendMessages(emulator, queueUrl, [s3EventBody({ bucket, key: 'from-child/readme.txt', eTag })]);
    expect(await nextLog(lines, 'upload recorded')).toMatchObject({ status: 'processed' });

    const list = await get(`${base}/results`, withKey);
    expect(list.body.results).toMatchObject([{ key: 'from-child/readme.txt', stats: { lines: 1, words: 3 } }]);
    expect((await get(`${base}/results`)).status).toBe(401);
    expect((await get(`${base}/health`)).status).toBe(200);

    child.kill('SIGTERM');
    expect(await nextLog(lines, 'stopped')).toMatchObject({ handedBack: 0, abandoned: 0 });
    expect(await exited).toStrictEqual([0, null]);
  });

  it('exits 1 naming the variable when a required one is missing', async () => {
    const { child } = start({ QUEUE_URL: 'http://127.0.0.1:1/q', ALLOWED_BUCKETS: bucket, WORK_DIR: tmpdir() });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const [code] = await once(child, 'exit');
    expect(code).toBe(1);
    expect(stderr).toContain(
      'API_KEY must be a secret of at least 16 printable ASCII characters without spaces; it is not set',
    );
  });
});
