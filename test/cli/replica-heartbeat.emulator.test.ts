import { EventEmitter, once } from 'node:events';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { ListQueueTagsCommand, type SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { createReplicaQueue, NotFoundError, sweepReplicaQueues } from 's3-sqs-sync';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { startReplicaHeartbeat } from '../../src/cli/replica-heartbeat.ts';
import { createQueue, type Emulator, startEmulator } from '../support/emulator.ts';

const LAST_SEEN = 's3-sqs-sync:last-seen';
const TWO_HOURS_AGO = () => new Date(Date.now() - 2 * 3_600_000).toISOString();

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.stop();
});
afterEach(() => {
  vi.useRealTimers();
});

/**
 * The emulator's client, announcing each TagQueue and ListQueueTags it completes, so a test can
 * wait for one; the first `failListTags` ListQueueTags calls are throttled instead.
 */
function watchedClient(inject: { failListTags?: number } = {}): {
  sqs: SQSClient;
  tagged: EventEmitter;
  listed: EventEmitter;
  tagCalls: () => number;
} {
  const tagged = new EventEmitter();
  const listed = new EventEmitter();
  let calls = 0;
  let failures = inject.failListTags ?? 0;
  const sqs = {
    send: async (command: unknown, options?: unknown) => {
      if (command instanceof ListQueueTagsCommand && failures > 0) {
        failures--;
        throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      }
      const output = await (emu.sqs.send as (c: unknown, o?: unknown) => Promise<unknown>)(command, options);
      if (command instanceof TagQueueCommand) {
        calls++;
        tagged.emit('tag');
      }
      if (command instanceof ListQueueTagsCommand) listed.emit('list');
      return output;
    },
  } as unknown as SQSClient;
  return { sqs, tagged, listed, tagCalls: () => calls };
}

async function lastSeen(queueUrl: string): Promise<string | undefined> {
  const { Tags = {} } = await emu.sqs.send(new ListQueueTagsCommand({ QueueUrl: queueUrl }));
  return Tags[LAST_SEEN];
}

describe('startReplicaHeartbeat', () => {
  it('keeps a replica queue’s last-seen tag fresh, so a sweep keeps the live queue, until stop()', async () => {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const prefix = `${emu.uniqueName('hb')}-`;
    const replica = await createReplicaQueue({
      sqs: emu.sqs,
      sns: emu.sns,
      topicArn: TopicArn,
      prefix,
      heartbeatIntervalMs: 0,
    });
    // A pod that has lived two hours: the tag still says what `replica-queue create` wrote.
    await emu.sqs.send(new TagQueueCommand({ QueueUrl: replica.queueUrl, Tags: { [LAST_SEEN]: TWO_HOURS_AGO() } }));

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { sqs, tagged, tagCalls } = watchedClient();
    const firstTag = once(tagged, 'tag');
    const heartbeat = await startReplicaHeartbeat({ sqs, queueUrl: replica.queueUrl, intervalMs: 60_000 });
    expect(heartbeat?.isReplicaQueue).toBe(true);
    await firstTag;
    expect(Date.now() - Date.parse((await lastSeen(replica.queueUrl)) ?? '')).toBeLessThan(60_000);

    const swept = await sweepReplicaQueues({ sqs: emu.sqs, sns: emu.sns, prefix, olderThanMs: 3_600_000 });
    expect(swept.removed).toEqual([]);
    expect(swept.kept.map((k) => k.queueUrl)).toEqual([replica.queueUrl]);

    // The timer refreshes it again after each interval.
    await emu.sqs.send(new TagQueueCommand({ QueueUrl: replica.queueUrl, Tags: { [LAST_SEEN]: TWO_HOURS_AGO() } }));
    const secondTag = once(tagged, 'tag');
    vi.advanceTimersByTime(60_000);
    await secondTag;
    expect(Date.now() - Date.parse((await lastSeen(replica.queueUrl)) ?? '')).toBeLessThan(60_000);
    expect(tagCalls()).toBe(2);

    heartbeat?.stop();
    heartbeat?.stop();
    vi.advanceTimersByTime(600_000);
    expect(vi.getTimerCount()).toBe(0);
    expect(tagCalls()).toBe(2);
    await replica.delete();
  });

  it('reports a replica queue deleted under it as NotFoundError', async () => {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const replica = await createReplicaQueue({
      sqs: emu.sqs,
      sns: emu.sns,
      topicArn: TopicArn,
      prefix: `${emu.uniqueName('hb')}-`,
      heartbeatIntervalMs: 0,
    });
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { sqs, tagged } = watchedClient();
    const errors = new EventEmitter();
    const firstTag = once(tagged, 'tag');
    const heartbeat = await startReplicaHeartbeat({
      sqs,
      queueUrl: replica.queueUrl,
      intervalMs: 1000,
      onError: (error) => errors.emit('error', error),
    });
    await firstTag;
    await replica.delete();
    const reported = once(errors, 'error');
    vi.advanceTimersByTime(1000);
    const [error] = await reported;
    expect(error).toBeInstanceOf(NotFoundError);
    expect(error).toMatchObject({ code: 'ERR_NOT_FOUND' });
    heartbeat?.stop();
  });

  it('leaves a queue that is not a replica queue alone', async () => {
    const plain = await createQueue(emu);
    const { sqs, tagCalls } = watchedClient();
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const heartbeat = await startReplicaHeartbeat({ sqs, queueUrl: plain.url, intervalMs: 1000 });
    expect(heartbeat).toBeUndefined();
    expect(vi.getTimerCount()).toBe(0);
    expect(tagCalls()).toBe(0);
    const { Tags } = await emu.sqs.send(new ListQueueTagsCommand({ QueueUrl: plain.url }));
    expect(Tags?.[LAST_SEEN]).toBeUndefined();
  });

  it('keeps reading the tags after a failed ListQueueTags, and keeps the replica queue alive once it can', async () => {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const prefix = `${emu.uniqueName('hb')}-`;
    const replica = await createReplicaQueue({
      sqs: emu.sqs,
      sns: emu.sns,
      topicArn: TopicArn,
      prefix,
      heartbeatIntervalMs: 0,
    });
    await emu.sqs.send(new TagQueueCommand({ QueueUrl: replica.queueUrl, Tags: { [LAST_SEEN]: TWO_HOURS_AGO() } }));
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    // One throttled read at start, as a busy account or a network blip gives.
    const { sqs, tagged, tagCalls } = watchedClient({ failListTags: 1 });
    const errors: unknown[] = [];
    const heartbeat = await startReplicaHeartbeat({
      sqs,
      queueUrl: replica.queueUrl,
      intervalMs: 60_000,
      onError: (error) => errors.push(error),
    });
    expect(errors).toMatchObject([{ name: 'ThrottlingException' }]);
    expect(heartbeat?.isReplicaQueue).toBe(false);
    expect(tagCalls()).toBe(0);

    const firstTag = once(tagged, 'tag');
    vi.advanceTimersByTime(60_000);
    await firstTag;
    expect(heartbeat?.isReplicaQueue).toBe(true);
    expect(Date.now() - Date.parse((await lastSeen(replica.queueUrl)) ?? '')).toBeLessThan(60_000);
    const swept = await sweepReplicaQueues({ sqs: emu.sqs, sns: emu.sns, prefix, olderThanMs: 3_600_000 });
    expect(swept.removed).toEqual([]);
    expect(errors).toHaveLength(1);

    heartbeat?.stop();
    expect(vi.getTimerCount()).toBe(0);
    await replica.delete();
  });

  it('stops trying once the tags it could not read at first say the queue is not a replica queue', async () => {
    const plain = await createQueue(emu);
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const { sqs, listed, tagCalls } = watchedClient({ failListTags: 1 });
    const errors: unknown[] = [];
    const heartbeat = await startReplicaHeartbeat({
      sqs,
      queueUrl: plain.url,
      intervalMs: 1000,
      onError: (error) => errors.push(error),
    });
    expect(heartbeat).toBeDefined();
    expect(vi.getTimerCount()).toBe(1);
    const read = once(listed, 'list');
    vi.advanceTimersByTime(1000);
    await read;
    // The answer is in: the timer goes, and nothing is ever tagged.
    await vi.waitUntil(() => vi.getTimerCount() === 0);
    vi.advanceTimersByTime(10_000);
    expect(tagCalls()).toBe(0);
    expect(errors).toHaveLength(1);
  });

  it('reports a queue it cannot find and keeps trying, until stopped', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const errors = new EventEmitter();
    const seen: unknown[] = [];
    errors.on('error', (error) => seen.push(error));
    const heartbeat = await startReplicaHeartbeat({
      sqs: emu.sqs,
      queueUrl: `${emu.endpoint}/000000000000/${emu.uniqueName('missing')}`,
      intervalMs: 1000,
      onError: (error) => errors.emit('error', error),
    });
    expect(heartbeat).toBeDefined();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(NotFoundError);
    const again = once(errors, 'error');
    vi.advanceTimersByTime(1000);
    await again;
    expect(seen).toHaveLength(2);
    heartbeat?.stop();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects when its signal aborts the first read, and an abort later stops the timer', async () => {
    const blocked = new AbortController();
    const never = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          options?.abortSignal?.addEventListener('abort', () => reject(options.abortSignal?.reason), { once: true });
        }),
    } as unknown as SQSClient;
    const pending = startReplicaHeartbeat({ sqs: never, queueUrl: 'http://127.0.0.1:1/0/q', signal: blocked.signal });
    blocked.abort(new Error('stopping'));
    await expect(pending).rejects.toThrow('stopping');

    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    const later = new AbortController();
    const { sqs } = watchedClient({ failListTags: 1 });
    const heartbeat = await startReplicaHeartbeat({
      sqs,
      queueUrl: (await createQueue(emu)).url,
      signal: later.signal,
      onError: () => undefined,
    });
    expect(heartbeat).toBeDefined();
    expect(vi.getTimerCount()).toBe(1);
    later.abort();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('validates its options', async () => {
    await expect(startReplicaHeartbeat({ sqs: emu.sqs, queueUrl: 'http://q', intervalMs: 0 })).rejects.toThrow(
      /intervalMs.*received 0/,
    );
    await expect(startReplicaHeartbeat({ sqs: {} as SQSClient, queueUrl: 'http://q' })).rejects.toThrow(/`sqs`/);
  });
});
