import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  SQSServiceException,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRetryDelaySeconds, SqsListener, type SqsListenerOptions } from '../../src/index.ts';
import { nthEvent } from '../support/events.ts';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/registry-updates';

function message(id: string): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: `{"id":"${id}"}`,
    Attributes: { ApproximateReceiveCount: '1' },
  };
}

function serviceError(name: string, status: number) {
  return new SQSServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status }, message: name });
}

/** Like a long poll: an empty receive answers only after a while, so the loop never spins. */
const slowEmpty = () => new Promise((resolve) => setTimeout(() => resolve({ Messages: [] }), 50));

const listeners: SqsListener[] = [];
function listen(options: Partial<SqsListenerOptions> = {}): SqsListener {
  const listener = new SqsListener({ client, queueUrl: QUEUE, handleMessage: async () => undefined, ...options });
  listeners.push(listener);
  return listener;
}

beforeEach(() => {
  sqs.reset();
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.stop({ timeoutMs: 100 })));
});

describe('SqsListener', () => {
  describe('deletes', () => {
    it('reports each entry a batch delete could not delete', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a'), message('b')] })
        .callsFake(slowEmpty);
      sqs.on(DeleteMessageBatchCommand).resolves({
        Successful: [{ Id: '0' }],
        Failed: [{ Id: '1', Code: 'ReceiptHandleIsInvalid', SenderFault: true, Message: 'expired' }],
      });
      const listener = listen({ concurrency: 2 });
      const failed = nthEvent(listener, 'delete_error');
      listener.start();
      const [error, lost] = await failed;
      expect(lost.MessageId).toBe('b');
      expect((error as Error).message).toMatch(/ReceiptHandleIsInvalid/);
    });

    it('reports every message of a batch delete call that failed', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a'), message('b')] })
        .callsFake(slowEmpty);
      sqs.on(DeleteMessageBatchCommand).rejects(serviceError('InternalError', 500));
      const listener = listen({ concurrency: 2 });
      const lost: string[] = [];
      listener.on('delete_error', (_error, m) => lost.push(m.MessageId ?? ''));
      const second = nthEvent(listener, 'delete_error', 2);
      listener.start();
      await second;
      expect(lost.sort()).toStrictEqual(['a', 'b']);
    });
  });

  describe('receive errors', () => {
    it('waits the longest at once for credential, permission and missing-queue errors', async () => {
      for (const [name, status] of [
        ['AccessDenied', 403],
        ['InvalidClientTokenId', 403],
        ['AWS.SimpleQueueService.NonExistentQueue', 400],
      ] as const) {
        sqs.reset();
        sqs.on(ReceiveMessageCommand).rejects(serviceError(name, status));
        const listener = listen({ receiveErrorBackoff: { minMs: 10, maxMs: 10_000 } });
        const failed = nthEvent(listener, 'receive_error');
        listener.start();
        const [, backoffMs] = await failed;
        expect(backoffMs).toBeGreaterThanOrEqual(5_000);
        await listener.stop();
      }
    });

    it('starts the backoff over after a successful receive', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .rejectsOnce(serviceError('InternalError', 500))
        .rejectsOnce(serviceError('InternalError', 500))
        .resolvesOnce({ Messages: [] })
        .rejects(serviceError('InternalError', 500));
      const backoffs: number[] = [];
      const listener = listen({ receiveErrorBackoff: { minMs: 40, maxMs: 10_000 } });
      listener.on('receive_error', (_e, ms) => backoffs.push(ms));
      const third = nthEvent(listener, 'receive_error', 3);
      listener.start();
      await third;
      expect(backoffs[0]).toBeLessThanOrEqual(40);
      expect(backoffs[1]).toBeGreaterThanOrEqual(40);
      expect(backoffs[2]).toBeLessThanOrEqual(40);
    });

    it('does not crash when nobody listens to any event', async () => {
      // No listener is attached (that is the point), so the mock announces the third receive.
      let calls = 0;
      let thirdCall!: () => void;
      const third = new Promise<void>((resolve) => {
        thirdCall = resolve;
      });
      sqs.on(ReceiveMessageCommand).callsFake(() => {
        if (++calls === 3) thirdCall();
        throw serviceError('InternalError', 500);
      });
      const listener = listen({ receiveErrorBackoff: { minMs: 5, maxMs: 10 } });
      listener.start();
      await third;
      expect(listener.status).toBe('running');
      expect(listener.listenerCount('receive_error')).toBe(0);
    });
  });

  describe('retry delay', () => {
    it('defaults to 5 s doubling per delivery, at most 15 minutes', () => {
      expect([1, 2, 3, 4, 8, 20].map(defaultRetryDelaySeconds)).toStrictEqual([5, 10, 20, 40, 640, 900]);
    });

    it('clamps what retryDelaySeconds returns to what SQS accepts', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('a')] })
        .callsFake(slowEmpty);
      sqs.on(ChangeMessageVisibilityCommand).resolves({});
      const listener = listen({
        retryDelaySeconds: () => 1e9,
        handleMessage: async () => {
          throw new Error('nope');
        },
      });
      const failed = nthEvent(listener, 'processing_error');
      listener.start();
      const [, , delay] = await failed;
      expect(delay).toBe(43_200);
    });
  });

  describe('options', () => {
    it.each([
      [{ concurrency: 0 }, RangeError, /concurrency/],
      [{ batchSize: 11 }, RangeError, /batchSize/],
      [{ waitTimeSeconds: 21 }, RangeError, /waitTimeSeconds/],
      [{ visibilityTimeout: -1 }, RangeError, /visibilityTimeout/],
      [{ visibilityTimeout: 10, heartbeatIntervalSeconds: 10 }, RangeError, /heartbeatIntervalSeconds/],
      [{ queueUrl: '' }, TypeError, /queueUrl/],
      [{ handleMessage: 'no' }, TypeError, /handleMessage/],
      [{ client: {} }, TypeError, /client/],
    ])('refuses %j', (override, type, message) => {
      const options = { client, queueUrl: QUEUE, handleMessage: async () => undefined, ...override } as never;
      expect(() => new SqsListener(options)).toThrow(type);
      expect(() => new SqsListener(options)).toThrow(message);
    });

    it('refuses start() while stopping', async () => {
      sqs.on(ReceiveMessageCommand).callsFake(slowEmpty);
      const listener = listen();
      listener.start();
      const stopping = listener.stop();
      expect(() => listener.start()).toThrow(/stopping/);
      await stopping;
    });
  });
});
