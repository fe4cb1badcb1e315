/**
 * Propagation time of createS3Sync, side by side with doing the same work by hand, on the
 * fauxqs emulator in this process (loopback HTTP, real SDK clients):
 *
 * - pipeline: SendMessage of an S3 event → `update_applied` (decode, policy, GetObject with
 *   If-Match streamed to a temp file, fsync, JSON.parse + validate, rename, fsync dir, publish,
 *   delete the message);
 * - bare steps: GetObject streamed to a file + JSON.parse, timed alone (no queue), twice: with
 *   and without the fsync + rename that make the write durable and atomic;
 * - naive loop: SendMessage → ReceiveMessage (long poll) → body buffered whole → writeFile →
 *   JSON.parse → DeleteMessage (what hand-written glue does).
 *
 * 1 MiB and 20 MiB registry files (the real seed's entries, repeated), 50 updates each, the
 * candidates interleaved update by update. Then fan-out: 20 replicas in this process, each with
 * its own queue subscribed to one SNS topic: time from Publish until all 20 serve the new version.
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, open, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { createS3Sync, type S3Sync } from '../dist/index.js';
import { printTable } from './lib.ts';

const MiB = 1024 * 1024;
const SIZES_MIB = (process.env.BENCH_SIZES_MIB ?? '1,20').split(',').map(Number);
const UPDATES = Number(process.env.BENCH_UPDATES ?? 50);
const REPLICAS = Number(process.env.BENCH_REPLICAS ?? 20);
const FANOUT_UPDATES = Number(process.env.BENCH_FANOUT_UPDATES ?? 20);

const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
const config = {
  endpoint: `http://127.0.0.1:${address.port}`,
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
};
const s3 = new S3Client(config);
const sqs = new SQSClient(config);
const sns = new SNSClient(config);
const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-bench-sync-'));
const bucket = 'registry-bench';
await s3.send(new CreateBucketCommand({ Bucket: bucket }));

interface Registry {
  readonly release: number;
  readonly servers: unknown[];
}
const validate = (data: unknown): Registry => {
  if (!Array.isArray((data as Registry | null)?.servers)) throw new Error('servers must be an array');
  return data as Registry;
};

const seed = JSON.parse(
  readFileSync(new URL('../test/fixtures/mcp-registry-seed-2025-05-16.json', import.meta.url), 'utf8'),
) as Record<string, unknown>[];
const seedBytes = Buffer.byteLength(JSON.stringify(seed));
/** A registry of about `size` MiB whose `release` field makes each update's bytes (and ETag) new. */
function registryOf(size: number): (release: number) => string {
  const servers: Record<string, unknown>[] = [];
  const copies = Math.max(1, Math.round((size * MiB) / seedBytes));
  for (let copy = 0; copy < copies; copy++) {
    for (const entry of seed) servers.push({ ...entry, id: `${String(entry.id)}-${copy}` });
  }
  const tail = JSON.stringify(servers);
  return (release) => `{"release":${release},"servers":${tail}}`;
}

// The emulator refuses request bodies over about 10 MiB: larger objects go up in 5 MiB parts.
const PART_BYTES = 5 * MiB;
async function putObject(key: string, text: string): Promise<string> {
  const body = Buffer.from(text);
  if (body.length <= PART_BYTES) {
    return (await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))).ETag ?? '';
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  const parts = [];
  for (let offset = 0, n = 1; offset < body.length; offset += PART_BYTES, n++) {
    const part = body.subarray(offset, offset + PART_BYTES);
    const { ETag } = await s3.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: part }),
    );
    parts.push({ ETag, PartNumber: n });
  }
  const done = await s3.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return done.ETag ?? '';
}

const percentile = (values: readonly number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
};

async function queue(name: string): Promise<{ url: string; arn: string }> {
  const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
  return { url: QueueUrl, arn: Attributes?.QueueArn ?? '' };
}

const eventBody = (key: string, eTag: string, sequencer: number) =>
  JSON.stringify({
    Records: [
      {
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: new Date().toISOString(),
        s3: {
          bucket: { name: bucket },
          object: { key, eTag: eTag.replaceAll('"', ''), sequencer: sequencer.toString(16).padStart(16, '0') },
        },
      },
    ],
  });

async function bareSteps(key: string, durable: boolean): Promise<number> {
  const target = join(dir, durable ? 'bare-durable.json' : 'bare.json');
  const start = performance.now();
  const { Body } = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  if (durable) {
    const temp = `${target}.tmp`;
    // flush: fsync before the stream closes.
    await pipeline(Body as NodeJS.ReadableStream, createWriteStream(temp, { flush: true }));
    await rename(temp, target);
    const dirHandle = await open(dir, 'r');
    await dirHandle.sync();
    await dirHandle.close();
  } else {
    await pipeline(Body as NodeJS.ReadableStream, createWriteStream(target));
  }
  validate(JSON.parse(await readFile(target, 'utf8')));
  return performance.now() - start;
}

async function naiveLoop(queueUrl: string, key: string, eTag: string, n: number): Promise<number> {
  const target = join(dir, 'naive.json');
  const start = performance.now();
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: eventBody(key, eTag, n) }));
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MaxNumberOfMessages: 1 }),
    );
    const message = Messages[0];
    if (message === undefined) continue;
    const record = JSON.parse(message.Body ?? '{}').Records[0].s3;
    const { Body } = await s3.send(new GetObjectCommand({ Bucket: record.bucket.name, Key: record.object.key }));
    const bytes = await (Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray();
    await writeFile(target, bytes);
    validate(JSON.parse(await readFile(target, 'utf8')));
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle }));
    return performance.now() - start;
  }
}

const rows: string[][] = [['size', 'candidate', 'p50 ms', 'p99 ms', 'pipeline p50 ÷ this']];
for (const size of SIZES_MIB) {
  const body = registryOf(size);
  const key = `v0/registry-${size}.json`;
  const pipelineQueue = await queue(`pipeline-${size}`);
  const naiveQueue = await queue(`naive-${size}`);
  const sync: S3Sync<Registry> = createS3Sync<Registry>({
    sqs: { client: sqs, queueUrl: pipelineQueue.url, waitTimeSeconds: 20 },
    s3: { client: s3 },
    target: join(dir, `served-${size}.json`),
    allow: { buckets: [bucket] },
    validate,
  });
  await sync.start();
  const times = { pipeline: [] as number[], bareDurable: [] as number[], bare: [] as number[], naive: [] as number[] };
  for (let n = 1; n <= UPDATES + 2; n++) {
    const ETag = await putObject(key, body(n));
    const applied = new Promise<void>((resolve) => sync.once('update_applied', () => resolve()));
    const start = performance.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: pipelineQueue.url, MessageBody: eventBody(key, ETag, n) }));
    await applied;
    const pipelineMs = performance.now() - start;
    const bareDurableMs = await bareSteps(key, true);
    const bareMs = await bareSteps(key, false);
    const naiveMs = await naiveLoop(naiveQueue.url, key, ETag, n);
    if (n <= 2) continue; // warm-up
    times.pipeline.push(pipelineMs);
    times.bareDurable.push(bareDurableMs);
    times.bare.push(bareMs);
    times.naive.push(naiveMs);
  }
  await sync.stop();
  const p50 = percentile(times.pipeline, 50);
  const names: Record<keyof typeof times, string> = {
    pipeline: 'createS3Sync (SendMessage → update_applied)',
    bareDurable: 'bare steps: GetObject → temp file, fsync, rename + JSON.parse',
    bare: 'bare steps: GetObject → file + JSON.parse (no fsync)',
    naive: 'naive loop: receive → buffer → writeFile → JSON.parse',
  };
  for (const [id, values] of Object.entries(times) as [keyof typeof times, number[]][]) {
    rows.push([
      `${size} MiB`,
      names[id],
      percentile(values, 50).toFixed(1),
      percentile(values, 99).toFixed(1),
      (p50 / percentile(values, 50)).toFixed(2),
    ]);
  }
}
console.log(`\npropagation, ${UPDATES} updates per size (last column: pipeline p50 ÷ candidate p50)`);
printTable(rows);

// Fan-out: one topic, a queue per replica, every replica its own createS3Sync.
const { TopicArn = '' } = await sns.send(new CreateTopicCommand({ Name: 'registry-changes' }));
const replicas: S3Sync<Registry>[] = [];
for (let i = 0; i < REPLICAS; i++) {
  const { url, arn } = await queue(`replica-${i}`);
  await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: arn }));
  const replica = createS3Sync<Registry>({
    sqs: { client: sqs, queueUrl: url, waitTimeSeconds: 20 },
    s3: { client: s3 },
    target: join(dir, `replica-${i}.json`),
    allow: { buckets: [bucket] },
    validate,
  });
  await replica.start();
  replicas.push(replica);
}
const fanout: number[] = [];
const body = registryOf(1);
for (let n = 1; n <= FANOUT_UPDATES + 1; n++) {
  const key = 'v0/fanout.json';
  const ETag = await putObject(key, body(n));
  const all = Promise.all(
    replicas.map((r) => new Promise<void>((resolve) => r.once('update_applied', () => resolve()))),
  );
  const start = performance.now();
  await sns.send(new PublishCommand({ TopicArn, Message: eventBody(key, ETag, n) }));
  await all;
  if (n > 1) fanout.push(performance.now() - start);
}
await Promise.all(replicas.map((r) => r.stop()));
console.log(`\nfan-out: ${REPLICAS} replicas, 1 MiB, ${FANOUT_UPDATES} updates, SNS Publish → all serve it`);
printTable([
  ['p50 ms', 'p99 ms'],
  [percentile(fanout, 50).toFixed(1), percentile(fanout, 99).toFixed(1)],
]);

s3.destroy();
sqs.destroy();
sns.destroy();
await app.close();
await rm(dir, { recursive: true, force: true });
