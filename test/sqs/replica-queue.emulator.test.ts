import { CreateTopicCommand, ListSubscriptionsByTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueueTagsCommand,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqsListener } from '../../src/index.ts';
import { createReplicaQueue, type ReplicaQueue } from '../../src/sqs/replica-queue.ts';
import { sweepReplicaQueues } from '../../src/sqs/replica-sweep.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { nthEvent } from '../support/events.ts';

const REPLICAS = 5;

/** An S3 event notification for `registry.json` at `versionId`, as S3 publishes it to SNS. */
function s3Event(versionId: string): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventName: 'ObjectCreated:Put',
        eventTime: '2026-11-30T08:00:00.000Z',
        s3: {
          bucket: { name: 'registry-prod', arn: 'arn:aws:s3:::registry-prod' },
          object: { key: 'registry.json', size: 2048, eTag: 'abc123', versionId, sequencer: '0065F1A2B3C4D5E6F7' },
        },
      },
    ],
  });
}

/** One replica: the version of the data it holds, moved on by the messages its listener handles. */
interface Replica {
  version: string;
  received: string[];
  listener: SqsListener;
}

describe('createReplicaQueue (fauxqs)', () => {
  let emu: Emulator;
  const listeners: SqsListener[] = [];
  const queues: ReplicaQueue[] = [];

  beforeAll(async () => {
    emu = await startEmulator();
  });

  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop({ timeoutMs: 1000 })));
    await Promise.all(queues.splice(0).map((q) => q.delete()));
  });

  afterAll(async () => {
    await emu.stop();
  });

  async function topic(): Promise<string> {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('registry-updates') }));
    return TopicArn;
  }

  async function replicaQueue(topicArn: string, prefix: string, extra: { replicaId?: string } = {}) {
    const queue = await createReplicaQueue({ sqs: emu.sqs, sns: emu.sns, topicArn, prefix, ...extra });
    queues.push(queue);
    return queue;
  }

  function replica(queueUrl: string): Replica {
    const state: Replica = {
      version: 'v1',
      received: [],
      listener: new SqsListener({
        client: emu.sqs,
        queueUrl,
        waitTimeSeconds: 1,
        handleMessage: async (message) => {
          const event = JSON.parse(message.Body ?? '{}') as {
            Records: { s3: { object: { versionId: string } } }[];
          };
          const versionId = event.Records[0]?.s3.object.versionId ?? '';
          state.received.push(versionId);
          state.version = versionId;
        },
      }),
    };
    listeners.push(state.listener);
    return state;
  }

  async function depth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes = {} } = await emu.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    };
  }

  async function subscriptionEndpoints(topicArn: string): Promise<string[]> {
    const { Subscriptions = [] } = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: topicArn }));
    return Subscriptions.map((s) => s.Endpoint ?? '');
  }

  async function exists(queueName: string): Promise<boolean> {
    try {
      await emu.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      return true;
    } catch (error) {
      if ((error as Error).name === 'QueueDoesNotExist') return false;
      throw error;
    }
  }

  describe('every replica sees every change', () => {
    it('brings 5 replicas, each on its own queue of one topic, to the new version', async () => {
      const topicArn = await topic();
      const prefix = emu.uniqueName('own');
      const replicas: Replica[] = [];
      for (let i = 0; i < REPLICAS; i++) replicas.push(replica((await replicaQueue(topicArn, `${prefix}-`)).queueUrl));
      const processed = replicas.map((r) => nthEvent(r.listener, 'message_processed', 1));
      for (const r of replicas) r.listener.start();

      await emu.sns.send(new PublishCommand({ TopicArn: topicArn, Message: s3Event('v2') }));
      await Promise.all(processed);

      expect(replicas.map((r) => r.version)).toStrictEqual(Array(REPLICAS).fill('v2'));
      expect(replicas.map((r) => r.received)).toStrictEqual(Array(REPLICAS).fill(['v2']));
    });

    it('leaves 4 of the same 5 replicas behind when they share one queue', async () => {
      const topicArn = await topic();
      const shared = await replicaQueue(topicArn, `${emu.uniqueName('shared')}-`);
      const replicas = Array.from({ length: REPLICAS }, () => replica(shared.queueUrl));
      const first = Promise.race(
        replicas.map(async (r) => {
          await nthEvent(r.listener, 'message_processed', 1);
          return r;
        }),
      );
      for (const r of replicas) r.listener.start();

      await emu.sns.send(new PublishCommand({ TopicArn: topicArn, Message: s3Event('v2') }));
      const winner = await first;
      // stop() flushes the winner's delete: from here on the message no longer exists anywhere.
      await winner.listener.stop();
      expect(await depth(shared.queueUrl)).toStrictEqual({ visible: 0, inFlight: 0 });
      // Two empty long polls each: the second began after the delete, so it would have seen the message.
      const others = replicas.filter((r) => r !== winner);
      await Promise.all(others.map((r) => nthEvent(r.listener, 'empty', 2)));

      expect(winner.version).toBe('v2');
      expect(others.map((r) => r.version)).toStrictEqual(Array(REPLICAS - 1).fill('v1'));
      expect(replicas.flatMap((r) => r.received)).toStrictEqual(['v2']);
    });
  });

  describe('the queue it creates', () => {
    it('lets only the topic send, keeps messages an hour, and is tagged as a replica queue', async () => {
      const topicArn = await topic();
      const queue = await replicaQueue(topicArn, `${emu.uniqueName('attrs')}-`, { replicaId: 'pod-0' });
      expect(queue.queueName).toMatch(/-pod-0$/);

      const { Attributes = {} } = await emu.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queue.queueUrl, AttributeNames: ['All'] }),
      );
      expect(Attributes.MessageRetentionPeriod).toBe('3600');
      expect(JSON.parse(Attributes.Policy ?? '{}')).toStrictEqual({
        Version: '2012-10-17',
        Statement: [
          {
            Sid: 'AllowTopicToSend',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Resource: queue.queueArn,
            Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
          },
        ],
      });
      const { Tags = {} } = await emu.sqs.send(new ListQueueTagsCommand({ QueueUrl: queue.queueUrl }));
      expect(Tags).toMatchObject({
        's3-sqs-sync:role': 'replica-queue',
        's3-sqs-sync:topic': topicArn,
        's3-sqs-sync:replica': 'pod-0',
      });
      expect(Date.now() - Date.parse(Tags['s3-sqs-sync:last-seen'] ?? '')).toBeLessThan(60_000);
    });

    it('delivers the SNS envelope when rawMessageDelivery is false', async () => {
      const topicArn = await topic();
      const queue = await createReplicaQueue({
        sqs: emu.sqs,
        sns: emu.sns,
        topicArn,
        prefix: `${emu.uniqueName('envelope')}-`,
        rawMessageDelivery: false,
      });
      queues.push(queue);
      const bodies: string[] = [];
      const listener = new SqsListener({
        client: emu.sqs,
        queueUrl: queue.queueUrl,
        waitTimeSeconds: 1,
        handleMessage: async (m) => void bodies.push(m.Body ?? ''),
      });
      listeners.push(listener);
      const processed = nthEvent(listener, 'message_processed', 1);
      listener.start();
      await emu.sns.send(new PublishCommand({ TopicArn: topicArn, Message: s3Event('v2') }));
      await processed;
      const envelope = JSON.parse(bodies[0] ?? '{}') as { Type?: string; TopicArn?: string; Message?: string };
      expect(envelope).toMatchObject({ Type: 'Notification', TopicArn: topicArn, Message: s3Event('v2') });
    });

    it('refreshes its last-seen tag on touch()', async () => {
      const topicArn = await topic();
      const queue = await replicaQueue(topicArn, `${emu.uniqueName('touch')}-`);
      const old = '2026-01-01T00:00:00.000Z';
      await emu.sqs.send(new TagQueueCommand({ QueueUrl: queue.queueUrl, Tags: { 's3-sqs-sync:last-seen': old } }));
      await queue.touch();
      const { Tags = {} } = await emu.sqs.send(new ListQueueTagsCommand({ QueueUrl: queue.queueUrl }));
      expect(Date.parse(Tags['s3-sqs-sync:last-seen'] ?? '')).toBeGreaterThan(Date.parse(old));
    });
  });

  describe('called again with the same replicaId', () => {
    it('keeps the existing queue and its waiting messages when a later step fails', async () => {
      const topicArn = await topic();
      const replicaId = emu.uniqueName('restart');
      const first = await replicaQueue(topicArn, 'keep-', { replicaId });
      await emu.sns.send(new PublishCommand({ TopicArn: topicArn, Message: s3Event('v1') }));
      const refusing = new SNSClient(emu.clientConfig());
      refusing.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'SubscribeCommand') throw new Error('Subscribe refused');
          return next(args);
        },
        { step: 'initialize', name: 'refuseSubscribe' },
      );
      try {
        await expect(
          createReplicaQueue({ sqs: emu.sqs, sns: refusing, topicArn, prefix: 'keep-', replicaId }),
        ).rejects.toThrow('Subscribe refused');
      } finally {
        refusing.destroy();
      }
      const { Attributes = {} } = await emu.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: first.queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      expect(Attributes.ApproximateNumberOfMessages).toBe('1');
    });

    it('tags the queue with the topic it is given now', async () => {
      const [before, after] = [await topic(), await topic()];
      const replicaId = emu.uniqueName('moved');
      await replicaQueue(before, 'moved-', { replicaId });
      const again = await replicaQueue(after, 'moved-', { replicaId });
      const { Tags = {} } = await emu.sqs.send(new ListQueueTagsCommand({ QueueUrl: again.queueUrl }));
      expect(Tags['s3-sqs-sync:topic']).toBe(after);
    });
  });

  describe('.delete', () => {
    it('unsubscribes and deletes the queue, and is safe to call twice', async () => {
      const topicArn = await topic();
      const queue = await createReplicaQueue({
        sqs: emu.sqs,
        sns: emu.sns,
        topicArn,
        prefix: `${emu.uniqueName('del')}-`,
      });
      expect(await subscriptionEndpoints(topicArn)).toStrictEqual([queue.queueArn]);

      const [first, second] = [queue.delete(), queue.delete()];
      expect(second).toBe(first);
      await first;
      expect(await subscriptionEndpoints(topicArn)).toStrictEqual([]);
      expect(await exists(queue.queueName)).toBe(false);
      await expect(queue.delete()).resolves.toBeUndefined();
    });

    it('succeeds when a sweep removed the queue and its subscription first', async () => {
      const topicArn = await topic();
      const queue = await createReplicaQueue({
        sqs: emu.sqs,
        sns: emu.sns,
        topicArn,
        prefix: `${emu.uniqueName('raced')}-`,
        heartbeatIntervalMs: 0,
      });
      await emu.sqs.send(
        new TagQueueCommand({
          QueueUrl: queue.queueUrl,
          Tags: { 's3-sqs-sync:last-seen': '2026-01-01T00:00:00.000Z' },
        }),
      );
      const { removed } = await sweepReplicaQueues({
        sqs: emu.sqs,
        sns: emu.sns,
        prefix: queue.queueName,
        olderThanMs: 600_000,
      });
      expect(removed.map((r) => r.queueUrl)).toStrictEqual([queue.queueUrl]);
      await expect(queue.delete()).resolves.toBeUndefined();
      await expect(queue.touch()).rejects.toMatchObject({ name: 'NotFoundError', code: 'ERR_NOT_FOUND' });
    });
  });

  describe('sweepReplicaQueues', () => {
    it('removes a stale replica queue and its subscription, keeps a live one and a non-replica queue', async () => {
      const topicArn = await topic();
      const otherTopicArn = await topic();
      const prefix = `${emu.uniqueName('sweep')}-`;
      const live = await replicaQueue(topicArn, prefix, { replicaId: 'live' });
      const stale = await createReplicaQueue({ sqs: emu.sqs, sns: emu.sns, topicArn, prefix, replicaId: 'dead' });
      const otherTopic = await replicaQueue(otherTopicArn, prefix, { replicaId: 'other-topic' });
      // A replica that died an hour ago: its heartbeat stopped then.
      const anHourAgo = new Date(Date.now() - 3_600_000).toISOString();
      for (const q of [stale, otherTopic]) {
        await emu.sqs.send(new TagQueueCommand({ QueueUrl: q.queueUrl, Tags: { 's3-sqs-sync:last-seen': anHourAgo } }));
      }
      // Same prefix, not a replica queue: must survive however old it is.
      const { QueueUrl: manual = '' } = await emu.sqs.send(new CreateQueueCommand({ QueueName: `${prefix}manual` }));

      const result = await sweepReplicaQueues({
        sqs: emu.sqs,
        sns: emu.sns,
        prefix,
        topicArn,
        olderThanMs: 600_000,
      });

      expect(result.removed).toStrictEqual([
        {
          queueUrl: stale.queueUrl,
          queueArn: stale.queueArn,
          replicaId: 'dead',
          topicArn,
          lastSeenAt: new Date(anHourAgo),
          subscriptionArns: [stale.subscriptionArn],
        },
      ]);
      expect(result.kept.map((k) => k.queueUrl)).toStrictEqual([live.queueUrl]);
      expect([...result.ignored].sort()).toStrictEqual([manual, otherTopic.queueUrl].sort());
      expect(result.failed).toStrictEqual([]);
      expect(await exists(stale.queueName)).toBe(false);
      expect(await exists(live.queueName)).toBe(true);
      expect(await exists(`${prefix}manual`)).toBe(true);
      expect(await subscriptionEndpoints(topicArn)).toStrictEqual([live.queueArn]);
      expect(await subscriptionEndpoints(otherTopicArn)).toStrictEqual([otherTopic.queueArn]);
    });

    it('reports without removing on dryRun', async () => {
      const topicArn = await topic();
      const prefix = `${emu.uniqueName('dry')}-`;
      const stale = await replicaQueue(topicArn, prefix);
      await emu.sqs.send(
        new TagQueueCommand({
          QueueUrl: stale.queueUrl,
          Tags: { 's3-sqs-sync:last-seen': '2026-01-01T00:00:00.000Z' },
        }),
      );
      const { removed } = await sweepReplicaQueues({
        sqs: emu.sqs,
        sns: emu.sns,
        prefix,
        olderThanMs: 600_000,
        dryRun: true,
      });
      expect(removed.map((r) => r.subscriptionArns)).toStrictEqual([[stale.subscriptionArn]]);
      expect(await exists(stale.queueName)).toBe(true);
      expect(await subscriptionEndpoints(topicArn)).toStrictEqual([stale.queueArn]);
    });
  });
});
