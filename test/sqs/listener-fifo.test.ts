import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqsListener, type SqsListenerOptions } from '../../src/index.ts';
import { nthEvent } from '../support/events.ts';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const FIFO_QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/registry-updates.fifo';

function message(id: string, group: string): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: id,
    Attributes: { ApproximateReceiveCount: '1', MessageGroupId: group },
  };
}

/** Like a long poll: an empty receive answers only after a while, so the loop never spins. */
const slowEmpty = () => new Promise((resolve) => setTimeout(() => resolve({ Messages: [] }), 50));

const listeners: SqsListener[] = [];
function listen(options: Partial<SqsListenerOptions> = {}): SqsListener {
  const listener = new SqsListener({
    client,
    queueUrl: FIFO_QUEUE,
    concurrency: 10,
    handleMessage: async () => undefined,
    ...options,
  });
  listeners.push(listener);
  return listener;
}

beforeEach(() => {
  sqs.reset();
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.stop({ timeoutMs: 100 })));
});

describe('SqsListener on a FIFO queue', () => {
  it('runs the messages of one group one after another, each after the previous was deleted', async () => {
    const log: string[] = [];
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [message('a1', 'a'), message('b1', 'b'), message('a2', 'a'), message('a3', 'a')] })
      .callsFake(slowEmpty);
    sqs.on(DeleteMessageBatchCommand).callsFake(async (input: { Entries: { ReceiptHandle: string }[] }) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      for (const entry of input.Entries) log.push(`deleted ${entry.ReceiptHandle.slice(3)}`);
      return {};
    });
    const listener = listen({
      handleMessage: async (m) => {
        log.push(`start ${m.Body}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      },
    });
    const done = nthEvent(listener, 'message_processed', 4);
    listener.start();
    await done;
    const groupA = log.filter((line) => line.endsWith('a1') || line.endsWith('a2') || line.endsWith('a3'));
    expect(groupA).toStrictEqual(['start a1', 'deleted a1', 'start a2', 'deleted a2', 'start a3', 'deleted a3']);
    // Another group does not wait for this one.
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('start a2'));
  });

  it('hands back the rest of a group when one of its messages fails, before setting its retry delay', async () => {
    const calls: string[] = [];
    sqs
      .on(ReceiveMessageCommand)
      .resolvesOnce({
        Messages: [message('a1', 'a'), message('a2', 'a'), message('a3', 'a'), message('a4', 'a'), message('b1', 'b')],
      })
      .callsFake(slowEmpty);
    sqs.on(DeleteMessageBatchCommand).resolves({});
    sqs.on(ChangeMessageVisibilityBatchCommand).callsFake((input: { Entries: { ReceiptHandle: string }[] }) => {
      calls.push(`hand back ${input.Entries.map((e) => e.ReceiptHandle.slice(3)).join(',')}`);
      return {};
    });
    sqs.on(ChangeMessageVisibilityCommand).callsFake((input: { ReceiptHandle: string; VisibilityTimeout: number }) => {
      calls.push(`retry ${input.ReceiptHandle.slice(3)} in ${input.VisibilityTimeout}`);
      return {};
    });
    const started: string[] = [];
    const listener = listen({
      retryDelaySeconds: () => 7,
      handleMessage: async (m) => {
        started.push(m.Body ?? '');
        if (m.Body === 'a2') throw new Error('bad update');
      },
    });
    const handedBack: string[] = [];
    listener.on('message_handed_back', (m, reason, info) => handedBack.push(`${m.Body} ${reason} ${info.groupId}`));
    const failed = nthEvent(listener, 'processing_error');
    listener.start();
    const [, failedMessage, delay, info] = await failed;
    await nthEvent(listener, 'message_handed_back', 2);
    await listener.stop();
    expect(failedMessage.Body).toBe('a2');
    expect(delay).toBe(7);
    expect(info).toStrictEqual({ messageId: 'a2', receiveCount: 1, groupId: 'a' });
    expect(started.filter((body) => body.startsWith('a'))).toStrictEqual(['a1', 'a2']);
    expect(started).toContain('b1');
    expect(handedBack).toStrictEqual(['a3 group_failed a', 'a4 group_failed a']);
    // Last first, then the failed message's delay: the group keeps its order on the emulator too.
    expect(calls).toStrictEqual(['hand back a4,a3', 'retry a2 in 7']);
  });

  it('requests MessageGroupId and sets ReceiveRequestAttemptId, reusing it only to retry a failed receive', async () => {
    sqs
      .on(ReceiveMessageCommand)
      .rejectsOnce(
        new SQSServiceException({ name: 'InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }),
      )
      .resolvesOnce({ Messages: [] })
      .callsFake(slowEmpty);
    const listener = listen({ receiveErrorBackoff: { minMs: 5, maxMs: 10 } });
    const third = new Promise<void>((resolve) => {
      let empties = 0;
      listener.on('empty', () => {
        if (++empties === 2) resolve();
      });
    });
    listener.start();
    await third;
    const inputs = sqs.commandCalls(ReceiveMessageCommand).map((call) => call.args[0].input);
    const ids = inputs.slice(0, 3).map((input) => input.ReceiveRequestAttemptId);
    expect(ids[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[1]).toBe(ids[0]);
    expect(ids[2]).toMatch(/^[0-9a-f-]{36}$/);
    expect(ids[2]).not.toBe(ids[0]);
    expect(inputs[0]?.MessageSystemAttributeNames).toContain('MessageGroupId');
  });

  it('sets no ReceiveRequestAttemptId on a standard queue', async () => {
    sqs.on(ReceiveMessageCommand).callsFake(slowEmpty);
    const listener = listen({ queueUrl: FIFO_QUEUE.replace('.fifo', '') });
    const empty = nthEvent(listener, 'empty');
    listener.start();
    await empty;
    const input = sqs.commandCalls(ReceiveMessageCommand)[0]?.args[0].input;
    expect(input?.ReceiveRequestAttemptId).toBeUndefined();
    expect(input?.MessageSystemAttributeNames).not.toContain('MessageGroupId');
  });
});
