import { readFileSync } from 'node:fs';
import {
  ListSubscriptionsByTopicCommand,
  SNSClient,
  SNSServiceException,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  ListQueuesCommand,
  ListQueueTagsCommand,
  SetQueueAttributesCommand,
  SQSClient,
  SQSServiceException,
  TagQueueCommand,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AbortedError, AccessDeniedError, NotFoundError } from '../../src/index.ts';
import { REPLICA_TAGS } from '../../src/sqs/replica-common.ts';
import { type CreateReplicaQueueOptions, createReplicaQueue, replicaQueuePolicy } from '../../src/sqs/replica-queue.ts';
import { sweepReplicaQueues } from '../../src/sqs/replica-sweep.ts';

const sqsMock = mockClient(SQSClient);
const snsMock = mockClient(SNSClient);
const config = { region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } };
const sqs = new SQSClient(config);
const sns = new SNSClient(config);

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:registry-updates';
const URL_BASE = 'https://sqs.us-east-1.amazonaws.com/123456789012/';
const ARN_BASE = 'arn:aws:sqs:us-east-1:123456789012:';
const SUBSCRIPTION = `${TOPIC}:0b1c2d3e-aaaa-bbbb-cccc-000000000001`;

function sqsError(name: string, status = 400) {
  return new SQSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}
function snsError(name: string, status: number) {
  return new SNSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}

/** A well-behaved SQS and SNS: the queue takes the name it is given. */
function happyPath(): void {
  sqsMock
    .on(CreateQueueCommand)
    .callsFake((input: { QueueName: string }) => ({ QueueUrl: URL_BASE + input.QueueName }));
  sqsMock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
    Attributes: { QueueArn: ARN_BASE + input.QueueUrl.split('/').pop() },
  }));
  sqsMock.on(SetQueueAttributesCommand).resolves({});
  sqsMock.on(TagQueueCommand).resolves({});
  sqsMock.on(DeleteQueueCommand).resolves({});
  snsMock.on(SubscribeCommand).resolves({ SubscriptionArn: SUBSCRIPTION });
  snsMock.on(UnsubscribeCommand).resolves({});
}

function options(extra: Partial<CreateReplicaQueueOptions> = {}): CreateReplicaQueueOptions {
  return { sqs, sns, topicArn: TOPIC, heartbeatIntervalMs: 0, ...extra };
}

beforeEach(() => {
  sqsMock.reset();
  snsMock.reset();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('createReplicaQueue', () => {
  describe('options', () => {
    it.each([
      ['sqs', { sqs: {} }, TypeError],
      ['sns', { sns: undefined }, TypeError],
      ['topicArn', { topicArn: 'registry-updates' }, TypeError],
      ['topicArn', { topicArn: `${TOPIC}.fifo` }, TypeError],
      ['prefix', { prefix: 'has space' }, TypeError],
      ['replicaId', { replicaId: 'pod.0' }, TypeError],
      ['`prefix` + `replicaId`', { prefix: 'p'.repeat(40), replicaId: 'r'.repeat(41) }, RangeError],
      ['queueAttributes', { queueAttributes: { Policy: '{}' } }, TypeError],
      ['queueAttributes.VisibilityTimeout', { queueAttributes: { VisibilityTimeout: 30 } }, TypeError],
      ['tags', { tags: { 's3-sqs-sync:role': 'x' } }, TypeError],
      ['rawMessageDelivery', { rawMessageDelivery: 'true' }, TypeError],
      ['filterPolicyScope', { filterPolicyScope: 'Body' }, TypeError],
      ['heartbeatIntervalMs', { heartbeatIntervalMs: -1 }, RangeError],
      ['signal', { signal: 'stop' }, TypeError],
    ] as const)('refuses a bad %s', async (name, bad, ErrorClass) => {
      const promise = createReplicaQueue(options(bad as Partial<CreateReplicaQueueOptions>));
      await expect(promise).rejects.toThrow(ErrorClass);
      await expect(promise).rejects.toThrow(name);
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });

  it('creates the queue with its tags, sets the policy, then subscribes with raw delivery', async () => {
    happyPath();
    const queue = await createReplicaQueue(
      options({ prefix: 'registry-', filterPolicy: { Records: { s3: { object: { key: ['registry.json'] } } } } }),
    );
    expect(queue.queueName).toMatch(/^registry-[0-9a-f]{12}$/);
    const [create] = sqsMock.commandCalls(CreateQueueCommand);
    expect(create?.args[0].input).toMatchObject({
      QueueName: queue.queueName,
      Attributes: { MessageRetentionPeriod: '3600' },
      tags: {
        's3-sqs-sync:role': 'replica-queue',
        's3-sqs-sync:topic': TOPIC,
        's3-sqs-sync:replica': queue.replicaId,
        's3-sqs-sync:last-seen': expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    });
    const [subscribe] = snsMock.commandCalls(SubscribeCommand);
    expect(subscribe?.args[0].input).toStrictEqual({
      TopicArn: TOPIC,
      Protocol: 'sqs',
      Endpoint: queue.queueArn,
      ReturnSubscriptionArn: true,
      Attributes: {
        RawMessageDelivery: 'true',
        FilterPolicy: '{"Records":{"s3":{"object":{"key":["registry.json"]}}}}',
        FilterPolicyScope: 'MessageBody',
      },
    });
    // Without a replicaId the name is new, so the tags of CreateQueue are all it needs.
    expect(sqsMock.commandCalls(TagQueueCommand)).toHaveLength(0);
  });

  it('refreshes last-seen at once when a stable replicaId may name an existing queue', async () => {
    happyPath();
    await createReplicaQueue(options({ replicaId: 'pod-0' }));
    expect(sqsMock.commandCalls(TagQueueCommand)).toHaveLength(1);
  });

  it('passes the signal to every call', async () => {
    happyPath();
    const { signal } = new AbortController();
    const queue = await createReplicaQueue(options({ signal, replicaId: 'pod-0' }));
    await queue.delete({ signal });
    const calls = [...sqsMock.send.getCalls(), ...snsMock.send.getCalls()];
    expect(calls.length).toBe(7);
    for (const call of calls) expect((call.args as unknown[])[1]).toStrictEqual({ abortSignal: signal });
  });

  it('removes the queue when subscribing fails, and reports a refusal as AccessDeniedError', async () => {
    happyPath();
    snsMock.on(SubscribeCommand).rejects(snsError('AuthorizationErrorException', 403));
    const promise = createReplicaQueue(options());
    await expect(promise).rejects.toThrow(AccessDeniedError);
    await expect(promise).rejects.toThrow('Subscribe was refused');
    expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(1);
  });

  it('removes the queue when aborted part-way, rejecting with AbortedError', async () => {
    happyPath();
    const controller = new AbortController();
    const reason = new Error('shutting down');
    sqsMock.on(SetQueueAttributesCommand).callsFake(() => {
      controller.abort(reason);
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    const error = await createReplicaQueue(options({ signal: controller.signal })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AbortedError);
    expect((error as AbortedError).cause).toBe(reason);
    expect(snsMock.commandCalls(SubscribeCommand)).toHaveLength(0);
    const [deleted] = sqsMock.commandCalls(DeleteQueueCommand);
    expect((deleted?.args as unknown[] | undefined)?.[1]).toStrictEqual({});
  });

  it('sends nothing when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('gone'));
    await expect(createReplicaQueue(options({ signal: controller.signal }))).rejects.toThrow(AbortedError);
    expect(sqsMock.calls()).toHaveLength(0);
  });

  describe('heartbeat', () => {
    it('refreshes last-seen every heartbeatIntervalMs until delete()', async () => {
      vi.useFakeTimers();
      happyPath();
      const queue = await createReplicaQueue(options({ heartbeatIntervalMs: 1000 }));
      await vi.advanceTimersByTimeAsync(3000);
      expect(sqsMock.commandCalls(TagQueueCommand)).toHaveLength(3);
      await queue.delete();
      await vi.advanceTimersByTimeAsync(3000);
      expect(sqsMock.commandCalls(TagQueueCommand)).toHaveLength(3);
    });

    it('reports a queue deleted under it as NotFoundError', async () => {
      vi.useFakeTimers();
      happyPath();
      sqsMock.on(TagQueueCommand).rejects(sqsError('QueueDoesNotExist'));
      const errors: unknown[] = [];
      const queue = await createReplicaQueue(
        options({ heartbeatIntervalMs: 1000, onHeartbeatError: (error) => errors.push(error) }),
      );
      await vi.advanceTimersByTimeAsync(1000);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(NotFoundError);
      expect((errors[0] as NotFoundError).message).toContain(queue.queueUrl);
      await queue.delete();
    });
  });

  describe('.delete', () => {
    it('keeps the queue when unsubscribing fails, and tries again on the next call', async () => {
      happyPath();
      snsMock.on(UnsubscribeCommand).rejectsOnce(snsError('InternalErrorException', 500)).resolves({});
      const queue = await createReplicaQueue(options());
      await expect(queue.delete()).rejects.toMatchObject({ name: 'InternalErrorException' });
      expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(0);
      await queue.delete();
      expect(snsMock.commandCalls(UnsubscribeCommand)).toHaveLength(2);
      expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(1);
    });

    it('treats a subscription or queue that is gone already as removed', async () => {
      happyPath();
      snsMock.on(UnsubscribeCommand).rejects(snsError('NotFoundException', 404));
      sqsMock.on(DeleteQueueCommand).rejects(sqsError('QueueDoesNotExist'));
      const queue = await createReplicaQueue(options());
      await expect(queue.delete()).resolves.toBeUndefined();
    });
  });
});

describe('sweepReplicaQueues', () => {
  const sweep = (extra: object = {}) => sweepReplicaQueues({ sqs, sns, olderThanMs: 600_000, ...extra });
  const replicaTags = (lastSeen?: string) => ({
    's3-sqs-sync:role': 'replica-queue',
    's3-sqs-sync:topic': TOPIC,
    ...(lastSeen === undefined ? {} : { 's3-sqs-sync:last-seen': lastSeen }),
  });
  const old = '2026-01-01T00:00:00.000Z';

  it.each([
    ['olderThanMs', { olderThanMs: undefined }, TypeError],
    ['olderThanMs', { olderThanMs: 59_999 }, RangeError],
    ['prefix', { prefix: 'a/b' }, TypeError],
    ['topicArn', { topicArn: 'arn:aws:sqs:us-east-1:123456789012:q' }, TypeError],
    ['dryRun', { dryRun: 1 }, TypeError],
  ] as const)('refuses a bad %s', async (name, bad, ErrorClass) => {
    const promise = sweep(bad);
    await expect(promise).rejects.toThrow(ErrorClass);
    await expect(promise).rejects.toThrow(name);
  });

  it('follows ListQueues and ListSubscriptionsByTopic pages, listing each topic once', async () => {
    sqsMock
      .on(ListQueuesCommand)
      .resolvesOnce({ QueueUrls: [`${URL_BASE}r-a`], NextToken: 't1' })
      .resolvesOnce({ QueueUrls: [`${URL_BASE}r-b`] });
    sqsMock.on(ListQueueTagsCommand).resolves({ Tags: replicaTags(old) });
    sqsMock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
      Attributes: { QueueArn: ARN_BASE + input.QueueUrl.split('/').pop() },
    }));
    sqsMock.on(DeleteQueueCommand).resolves({});
    snsMock
      .on(ListSubscriptionsByTopicCommand)
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: `${TOPIC}:1`, Endpoint: `${ARN_BASE}r-a` }], NextToken: 's1' })
      .resolvesOnce({ Subscriptions: [{ SubscriptionArn: `${TOPIC}:2`, Endpoint: `${ARN_BASE}r-b` }] });
    snsMock.on(UnsubscribeCommand).resolves({});

    const { removed } = await sweep({ prefix: 'r-' });
    expect(removed.map((r) => [r.queueUrl, r.subscriptionArns])).toStrictEqual([
      [`${URL_BASE}r-a`, [`${TOPIC}:1`]],
      [`${URL_BASE}r-b`, [`${TOPIC}:2`]],
    ]);
    expect(sqsMock.commandCalls(ListQueuesCommand)[1]?.args[0].input).toMatchObject({ NextToken: 't1' });
    expect(snsMock.commandCalls(ListSubscriptionsByTopicCommand)).toHaveLength(2);
  });

  it('ages a queue with no last-seen tag by its creation time', async () => {
    sqsMock.on(ListQueuesCommand).resolves({ QueueUrls: [`${URL_BASE}young`, `${URL_BASE}aged`] });
    sqsMock.on(ListQueueTagsCommand).resolves({ Tags: replicaTags() });
    const created = (name: string) => Math.floor(Date.now() / 1000) - (name === 'aged' ? 7200 : 10);
    sqsMock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => {
      const name = input.QueueUrl.split('/').pop() ?? '';
      return { Attributes: { QueueArn: ARN_BASE + name, CreatedTimestamp: String(created(name)) } };
    });
    sqsMock.on(DeleteQueueCommand).resolves({});
    snsMock.on(ListSubscriptionsByTopicCommand).resolves({ Subscriptions: [] });
    const result = await sweep();
    expect(result.removed.map((r) => r.queueUrl)).toStrictEqual([`${URL_BASE}aged`]);
    expect(result.kept.map((r) => r.queueUrl)).toStrictEqual([`${URL_BASE}young`]);
  });

  it('keeps a queue whose subscription could not be removed, reports it, and goes on', async () => {
    sqsMock.on(ListQueuesCommand).resolves({ QueueUrls: [`${URL_BASE}stuck`, `${URL_BASE}gone`] });
    sqsMock.on(ListQueueTagsCommand).resolves({ Tags: replicaTags(old) });
    sqsMock.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
      Attributes: { QueueArn: ARN_BASE + input.QueueUrl.split('/').pop() },
    }));
    sqsMock.on(DeleteQueueCommand).resolves({});
    snsMock.on(ListSubscriptionsByTopicCommand).resolves({
      Subscriptions: [
        { SubscriptionArn: `${TOPIC}:1`, Endpoint: `${ARN_BASE}stuck` },
        { SubscriptionArn: `${TOPIC}:2`, Endpoint: `${ARN_BASE}gone` },
      ],
    });
    snsMock
      .on(UnsubscribeCommand, { SubscriptionArn: `${TOPIC}:1` })
      .rejects(snsError('AuthorizationErrorException', 403))
      .on(UnsubscribeCommand, { SubscriptionArn: `${TOPIC}:2` })
      .resolves({});
    const result = await sweep();
    expect(result.failed.map((f) => f.queueUrl)).toStrictEqual([`${URL_BASE}stuck`]);
    expect(result.failed[0]?.error).toBeInstanceOf(AccessDeniedError);
    expect(result.removed.map((r) => r.queueUrl)).toStrictEqual([`${URL_BASE}gone`]);
    expect(sqsMock.commandCalls(DeleteQueueCommand).map((c) => c.args[0].input.QueueUrl)).toStrictEqual([
      `${URL_BASE}gone`,
    ]);
  });

  it('never deletes a queue without the replica tag', async () => {
    sqsMock.on(ListQueuesCommand).resolves({ QueueUrls: [`${URL_BASE}s3-sqs-sync-replica-orders`] });
    // Even with our other tags on it: only the role tag makes a queue ours to delete.
    sqsMock
      .on(ListQueueTagsCommand)
      .resolves({ Tags: { team: 'orders', 's3-sqs-sync:topic': TOPIC, 's3-sqs-sync:last-seen': old } });
    const result = await sweep();
    expect(result.ignored).toStrictEqual([`${URL_BASE}s3-sqs-sync-replica-orders`]);
    expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(0);
    expect(sqsMock.commandCalls(ListQueuesCommand)[0]?.args[0].input.QueueNamePrefix).toBe('s3-sqs-sync-replica-');
  });

  it('stops with AbortedError when its signal is aborted', async () => {
    const controller = new AbortController();
    sqsMock.on(ListQueuesCommand).resolves({ QueueUrls: [`${URL_BASE}a`] });
    sqsMock.on(ListQueueTagsCommand).callsFake(() => {
      controller.abort(new Error('deadline'));
      throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
    });
    await expect(sweep({ signal: controller.signal })).rejects.toThrow(AbortedError);
  });
});

describe('docs/topology.md', () => {
  const doc = readFileSync(new URL('../../docs/topology.md', import.meta.url), 'utf8');

  it('lists exactly the tags a replica queue gets', () => {
    const documented = [...doc.matchAll(/^\| `(s3-sqs-sync:[a-z-]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toStrictEqual(Object.values(REPLICA_TAGS).sort());
  });

  it('shows the queue policy the helper sets', () => {
    const shown = /"Sid": "AllowTopicToSend"[\s\S]*?"Resource": "([^"]+)"[\s\S]*?"aws:SourceArn": "([^"]+)"/.exec(doc);
    const [, queueArn = '', topicArn = ''] = shown ?? [];
    const block = doc.slice(doc.lastIndexOf('```json', shown?.index), doc.indexOf('```', shown?.index));
    expect(JSON.parse(block.replace('```json', ''))).toStrictEqual(JSON.parse(replicaQueuePolicy(queueArn, topicArn)));
  });
});
