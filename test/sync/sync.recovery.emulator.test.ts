import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createS3Sync, type S3Sync, type S3SyncOptions } from '../../src/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';
import { SyncRecorder } from '../support/sync-events.ts';

interface Release {
  readonly release: number;
}
const validate = (data: unknown): Release => {
  if (typeof (data as Partial<Release> | null)?.release !== 'number') throw new Error('a release number is required');
  return data as Release;
};
const body = (release: number) => JSON.stringify({ release });

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator?.stop();
});

let dir: string;
let bucket: string;
let queueUrl: string;
let syncs: S3Sync<Release>[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 's3-sync-recovery-'));
  bucket = emulator.uniqueName('registry');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  queueUrl = (await emulator.sqs.send(new CreateQueueCommand({ QueueName: emulator.uniqueName('replica') })))
    .QueueUrl as string;
});
afterEach(async () => {
  await Promise.all(syncs.map((s) => s.stop()));
  syncs = [];
  await rm(dir, { recursive: true, force: true });
});

function makeSync(options: Partial<S3SyncOptions<Release>>): { sync: S3Sync<Release>; events: SyncRecorder } {
  const sync = createS3Sync<Release>({
    sqs: { client: emulator.sqs, queueUrl, waitTimeSeconds: 1, visibilityTimeout: 5 },
    s3: { client: emulator.s3 },
    target: join(dir, 'registry.json'),
    source: `s3://${bucket}/v0/registry.json`,
    validate,
    retry: false,
    ...options,
  } as S3SyncOptions<Release>);
  syncs.push(sync);
  return { sync, events: new SyncRecorder(sync as S3Sync<unknown>) };
}

const send = (messageBody: string) =>
  emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: messageBody }));

/** A versioned bucket (the emulator has no versions): every put is a new version id and ETag. */
function versionedBucket() {
  const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
  const versions: { versionId: string; etag: string; body: string }[] = [];
  const requests: { VersionId?: string | undefined; IfMatch?: string | undefined; IfNoneMatch?: string | undefined }[] =
    [];
  const fail = (name: string, status: number) =>
    new S3ServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
  mockClient(client)
    .on(GetObjectCommand)
    .callsFake(async (input: { VersionId?: string; IfMatch?: string; IfNoneMatch?: string }) => {
      requests.push({ VersionId: input.VersionId, IfMatch: input.IfMatch, IfNoneMatch: input.IfNoneMatch });
      const version =
        input.VersionId === undefined ? versions.at(-1) : versions.find((v) => v.versionId === input.VersionId);
      if (version === undefined) throw fail('NoSuchKey', 404);
      if (input.IfMatch !== undefined && input.IfMatch.replaceAll('"', '') !== version.etag) {
        throw fail('PreconditionFailed', 412);
      }
      if (input.IfNoneMatch?.replaceAll('"', '') === version.etag) throw fail('NotModified', 304);
      return {
        Body: sdkStreamMixin(Readable.from([Buffer.from(version.body)])),
        ContentLength: Buffer.byteLength(version.body),
        ETag: `"${version.etag}"`,
        VersionId: version.versionId,
      };
    });
  return {
    client,
    requests,
    /** A new version; `etag` for one whose bytes (and so ETag) equal an earlier version's. */
    put(release: number, etag?: string) {
      const n = versions.length + 1;
      const version = { versionId: `version-${n}`, etag: etag ?? `etag${n}`, body: body(release) };
      versions.push(version);
      return version;
    },
  };
}

describe('createS3Sync recovery', () => {
  it('never rolls back with pinVersionId when an older event arrives after start-up fetched a newer one', async () => {
    const s3 = versionedBucket();
    const v1 = s3.put(1);
    const v2 = s3.put(2);
    const { sync, events } = makeSync({ s3: { client: s3.client }, pinVersionId: true });
    await sync.start();
    expect(sync.store.get().release).toBe(2);
    const event = (v: typeof v1, n: number) =>
      s3EventBody({ bucket, key: 'v0/registry.json', eTag: v.etag, versionId: v.versionId, sequencer: sequencer(n) });
    const duplicate = events.next('update_skipped');
    await send(event(v2, 2));
    expect((await duplicate)[1]).toBe('duplicate');
    const late = events.next('update_skipped');
    await send(event(v1, 1)); // delivered late: standard queues do not keep order
    expect((await late)[1]).toBe('stale');
    expect(sync.store.get().release).toBe(2);
    expect(s3.requests.filter((r) => r.VersionId === v1.versionId)).toEqual([]);
  });

  it('never pins an older version than one seen as a duplicate by ETag (content put back)', async () => {
    const s3 = versionedBucket();
    s3.put(1);
    const { sync, events } = makeSync({ s3: { client: s3.client }, pinVersionId: true });
    await sync.start();
    const event = (v: { etag: string; versionId: string }, n: number) =>
      s3EventBody({ bucket, key: 'v0/registry.json', eTag: v.etag, versionId: v.versionId, sequencer: sequencer(n) });
    const v2 = s3.put(2);
    const applied = events.next('update_applied');
    await send(event(v2, 2));
    await applied;
    const v3 = s3.put(3);
    const v4 = s3.put(2, v2.etag); // v2's bytes put back: S3 now serves them as v4
    const duplicate = events.next('update_skipped');
    await send(event(v4, 4));
    expect((await duplicate)[1]).toBe('duplicate');
    // v3's event, delivered last: it must not bring v3 back by its version id.
    const settled = Promise.race([
      events.next('update_applied'),
      events.next('update_skipped', ([update]) => update.sequencer === sequencer(3)),
    ]);
    await send(event(v3, 3));
    await settled;
    expect(sync.store.get().release).toBe(2);
    expect(s3.requests.filter((request) => request.VersionId === v3.versionId)).toEqual([]);
  });

  it('sends VersionId for an event newer than what is served', async () => {
    const s3 = versionedBucket();
    const v1 = s3.put(1);
    const { sync, events } = makeSync({ s3: { client: s3.client }, pinVersionId: true });
    await sync.start();
    const first = events.next('update_skipped');
    await send(
      s3EventBody({ bucket, key: 'v0/registry.json', eTag: v1.etag, versionId: v1.versionId, sequencer: sequencer(1) }),
    );
    await first;
    const v2 = s3.put(2);
    const applied = events.next('update_applied');
    await send(
      s3EventBody({ bucket, key: 'v0/registry.json', eTag: v2.etag, versionId: v2.versionId, sequencer: sequencer(2) }),
    );
    await applied;
    expect(s3.requests.at(-1)).toMatchObject({ VersionId: v2.versionId, IfMatch: `"${v2.etag}"` });
  });

  it('reports a refused object once and does not fetch it again on reconcile or on a repeated event', async () => {
    await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body(1) }));
    const { sync, events } = makeSync({ reconcileIntervalMs: 50 });
    await sync.start();
    const failed = events.next('update_failed');
    const { ETag = '' } = await emulator.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: '{"release": 2, "servers": [' }),
    );
    await failed;
    // Three quiet reconcile rounds: each a 304 against the refused ETag, nothing reported.
    for (let i = 0; i < 3; i++) await events.next('update_skipped', ([, reason]) => reason === 'not-modified');
    const repeated = events.next('update_skipped', ([update]) => update.origin === 'message');
    await send(s3EventBody({ bucket, key: 'v0/registry.json', eTag: ETag, sequencer: sequencer(9) }));
    expect((await repeated)[1]).toBe('rejected');
    expect(events.seen.update_failed).toHaveLength(1);
    expect(sync.health()).toMatchObject({ state: 'degraded', consecutiveFailures: 1, version: 1 });
    const recovered = events.next('update_applied');
    await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body(3) }));
    await recovered;
    expect(sync.health()).toMatchObject({ state: 'ready', consecutiveFailures: 0 });
  });

  it('retries a start-up fetch that failed transiently while serving the local file', async () => {
    await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body(1) }));
    const warm = makeSync({});
    await warm.sync.start();
    await warm.sync.stop();
    await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body(2) }));
    const s3 = new S3Client(emulator.clientConfig());
    let failures = 1;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && failures-- > 0) {
          throw Object.assign(new Error('SlowDown'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
        }
        return next(args);
      },
      { step: 'finalizeRequest', name: 'slowDownOnce' },
    );
    try {
      const { sync, events } = makeSync({ s3: { client: s3 } });
      const applied = events.next('update_applied');
      await sync.start();
      expect(sync.store.get().release).toBe(1); // the local file, served at once
      expect(sync.state).toBe('degraded');
      expect((await applied)[0].update.origin).toBe('start');
      expect(sync.store.get().release).toBe(2);
      expect(sync.state).toBe('ready');
    } finally {
      s3.destroy();
    }
  });

  it('aborts a start-up in progress when stopped, without starting the listener', async () => {
    const s3 = new S3Client(emulator.clientConfig());
    let requested: () => void = () => {};
    const inFlight = new Promise<void>((resolve) => {
      requested = resolve;
    });
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') requested();
        return next(args);
      },
      { step: 'finalizeRequest', name: 'seeGets' },
    );
    await emulator.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: body(1) }));
    try {
      const { sync, events } = makeSync({ s3: { client: s3 }, stopTimeoutMs: 60_000 });
      const starting = sync.start();
      await inFlight;
      const started = performance.now();
      await sync.stop();
      expect(performance.now() - started).toBeLessThan(10_000);
      await expect(starting).rejects.toMatchObject({ code: 'ERR_CLOSED' });
      expect(sync.listener.status).toBe('idle');
      expect(events.seen.started).toHaveLength(0);
      await expect(sync.start()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    } finally {
      s3.destroy();
    }
  });
});
