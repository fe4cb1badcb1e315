import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createS3Sync, type S3Sync } from '../../src/index.ts';
import { createReplicaQueue, type ReplicaQueue } from '../../src/sqs/replica-queue.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { s3EventBody, sequencer } from '../support/s3-events.ts';

const REPLICAS = 5;

interface Release {
  readonly release: number;
}

let emulator: Emulator;
let dir: string;
let bucket: string;
let topicArn: string;
beforeAll(async () => {
  emulator = await startEmulator();
  dir = await mkdtemp(join(tmpdir(), 's3-sync-fanout-'));
  bucket = emulator.uniqueName('registry');
  await emulator.s3.send(new CreateBucketCommand({ Bucket: bucket }));
  topicArn = (await emulator.sns.send(new CreateTopicCommand({ Name: emulator.uniqueName('changes') })))
    .TopicArn as string;
});
afterAll(async () => {
  await emulator?.stop();
  await rm(dir, { recursive: true, force: true });
});

function replica(name: string, queueUrl: string): S3Sync<Release> {
  return createS3Sync<Release>({
    sqs: { client: emulator.sqs, queueUrl, waitTimeSeconds: 1 },
    s3: { client: emulator.s3 },
    target: join(dir, `${name}.json`),
    allow: { buckets: [bucket] },
  });
}

/** Puts release `n` and announces it through the topic, as S3 → SNS would. */
async function publish(key: string, n: number): Promise<void> {
  const { ETag = '' } = await emulator.s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify({ release: n }) }),
  );
  await emulator.sns.send(
    new PublishCommand({
      TopicArn: topicArn,
      Message: s3EventBody({ bucket, key, eTag: ETag, sequencer: sequencer(n) }),
    }),
  );
}

const applied = (sync: S3Sync<Release>) => new Promise<void>((resolve) => sync.once('update_applied', () => resolve()));

describe('createS3Sync replicas', () => {
  it('all reach the new version when each has its own queue on the topic', async () => {
    const queues: ReplicaQueue[] = [];
    const syncs: S3Sync<Release>[] = [];
    try {
      for (let i = 0; i < REPLICAS; i++) {
        const queue = await createReplicaQueue({
          sqs: emulator.sqs,
          sns: emulator.sns,
          topicArn,
          prefix: 'fanout-own-',
          heartbeatIntervalMs: 0,
        });
        queues.push(queue);
        const sync = replica(`own-${i}`, queue.queueUrl);
        await sync.start();
        syncs.push(sync);
      }
      const all = Promise.all(syncs.map(applied));
      await publish('v0/own.json', 2);
      await all;
      expect(syncs.map((s) => s.store.get().release)).toEqual(Array(REPLICAS).fill(2));
    } finally {
      await Promise.all(syncs.map((s) => s.stop()));
      await Promise.all(queues.map((q) => q.delete()));
    }
  });

  it('leave all but one behind when they share one queue', async () => {
    const { QueueUrl = '' } = await emulator.sqs.send(
      new CreateQueueCommand({ QueueName: emulator.uniqueName('shared') }),
    );
    const { Attributes } = await emulator.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const { SubscribeCommand } = await import('@aws-sdk/client-sns');
    await emulator.sns.send(
      new SubscribeCommand({
        TopicArn: topicArn,
        Protocol: 'sqs',
        Endpoint: Attributes?.QueueArn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    const syncs = Array.from({ length: REPLICAS }, (_, i) => replica(`shared-${i}`, QueueUrl));
    try {
      await Promise.all(syncs.map((s) => s.start()));
      const first = Promise.race(syncs.map((s) => applied(s).then(() => s)));
      await publish('v0/shared.json', 3);
      const winner = await first;
      // Stop them all: every in-flight message is finished and deleted, every poll returns.
      await Promise.all(syncs.map((s) => s.stop()));
      const { Attributes: counts } = await emulator.sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      expect(Number(counts?.ApproximateNumberOfMessages) + Number(counts?.ApproximateNumberOfMessagesNotVisible)).toBe(
        0,
      );
      const served = syncs.map((s) => s.health().version);
      expect(served.filter((v) => v === 1)).toHaveLength(1);
      expect(served.filter((v) => v === 0)).toHaveLength(REPLICAS - 1);
      expect(winner.store.get().release).toBe(3);
    } finally {
      await Promise.all(syncs.map((s) => s.stop()));
    }
  });
});
