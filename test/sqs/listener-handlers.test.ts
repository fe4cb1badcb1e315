import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  HandlerTimeoutError,
  HeartbeatError,
  isS3SyncError,
  SqsListener,
  type SqsListenerOptions,
} from '../../src/index.ts';
import { gate, nthEvent } from '../support/events.ts';

const sqs = mockClient(SQSClient);
const client = new SQSClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/123456789012/registry-updates';

function message(id: string, receiveCount = 1): Message {
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: id,
    Attributes: { ApproximateReceiveCount: String(receiveCount) },
  };
}

/** Like a long poll: an empty receive answers only after a while, so the loop never spins. */
const slowEmpty = () => new Promise((resolve) => setTimeout(() => resolve({ Messages: [] }), 50));

const listeners: SqsListener[] = [];
function listen(options: Partial<SqsListenerOptions> = {}): SqsListener {
  const listener = new SqsListener({ client, queueUrl: QUEUE, handleMessage: async () => undefined, ...options });
  listeners.push(listener);
  return listener;
}

/** The VisibilityTimeout of every ChangeMessageVisibility call so far, with its receipt handle. */
function visibilityCalls(): string[] {
  return sqs
    .commandCalls(ChangeMessageVisibilityCommand)
    .map((call) => `${call.args[0].input.ReceiptHandle} ${call.args[0].input.VisibilityTimeout}`);
}

beforeEach(() => {
  sqs.reset();
  sqs.on(DeleteMessageBatchCommand).resolves({});
  sqs.on(ChangeMessageVisibilityCommand).resolves({});
  sqs.on(ChangeMessageVisibilityBatchCommand).resolves({});
});

afterEach(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.stop({ timeoutMs: 100 })));
});

describe('SqsListener', () => {
  describe('handlerTimeoutMs', () => {
    it('frees the slot, reports the error, sets the retry delay and stops the heartbeat at the timeout', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('stuck')] })
        .resolvesOnce({ Messages: [message('next')] })
        .callsFake(slowEmpty);
      const stuck = gate();
      const listener = listen({
        concurrency: 1,
        visibilityTimeout: 2,
        heartbeatIntervalSeconds: 0.02,
        handlerTimeoutMs: 100,
        retryDelaySeconds: () => 60,
        // Ignores its signal.
        handleMessage: (m) => (m.Body === 'stuck' ? stuck.promise : Promise.resolve()),
      });
      const failed = nthEvent(listener, 'processing_error');
      const next = nthEvent(listener, 'message_processed');
      listener.start();
      const [error, failedMessage, delay, info] = await failed;
      expect(error).toBeInstanceOf(HandlerTimeoutError);
      expect(error).toMatchObject({ code: 'ERR_HANDLER_TIMEOUT', messageId: 'stuck', timeoutMs: 100 });
      expect(failedMessage.Body).toBe('stuck');
      expect(delay).toBe(60);
      expect(info).toStrictEqual({ messageId: 'stuck', receiveCount: 1 });
      // The one slot took the next message while the stuck handler still runs.
      const [processed] = await next;
      expect(processed.Body).toBe('next');
      expect(listener.health()).toMatchObject({ inFlight: 0, abandoned: 1, degraded: true });
      // The retry delay was the last visibility change of the stuck message: no heartbeat after it.
      const stuckCalls = visibilityCalls().filter((call) => call.startsWith('rh-stuck'));
      expect(stuckCalls.at(-1)).toBe('rh-stuck 60');
      expect(stuckCalls.filter((call) => call === 'rh-stuck 60')).toHaveLength(1);
      // Resolving later does not delete it.
      stuck.open();
      await new Promise((resolve) => setImmediate(resolve));
      const result = await listener.stop();
      const deleted = sqs
        .commandCalls(DeleteMessageBatchCommand)
        .flatMap((call) => call.args[0].input.Entries?.map((e) => e.ReceiptHandle) ?? []);
      expect(deleted).toStrictEqual(['rh-next']);
      expect(result).toStrictEqual({ handedBack: 0, abandoned: 0 });
      expect(
        visibilityCalls()
          .filter((call) => call.startsWith('rh-stuck'))
          .at(-1),
      ).toBe('rh-stuck 60');
    });

    it('lets stop() report handlers it abandoned', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('stuck')] })
        .callsFake(slowEmpty);
      const stuck = gate();
      const listener = listen({ handlerTimeoutMs: 20, handleMessage: () => stuck.promise });
      const failed = nthEvent(listener, 'processing_error');
      listener.start();
      await failed;
      const stopped = nthEvent(listener, 'stopped');
      expect(await listener.stop()).toStrictEqual({ handedBack: 0, abandoned: 1 });
      expect(await stopped).toStrictEqual([{ handedBack: 0, abandoned: 1 }]);
      expect(listener.abandoned).toBe(1);
      stuck.open();
    });
  });

  describe('.stop', () => {
    it('hands back at the deadline, reports it, and a restart keeps abandoned handlers within concurrency', async () => {
      const answers: Message[][] = [[message('ignores-signal'), message('quick')]];
      sqs.on(ReceiveMessageCommand).callsFake(() => {
        const next = answers.shift();
        return next === undefined ? slowEmpty() : { Messages: next };
      });
      const stuck = gate();
      let running = 0;
      let most = 0;
      const listener = listen({
        concurrency: 2,
        handleMessage: async (m, { receiveCount }) => {
          running++;
          most = Math.max(most, running);
          try {
            if (m.Body === 'ignores-signal' && receiveCount === 1) await stuck.promise;
            else await new Promise((resolve) => setTimeout(resolve, 5));
          } finally {
            running--;
          }
        },
      });
      const handedBack = nthEvent(listener, 'message_handed_back');
      listener.start();
      await nthEvent(listener, 'message_processed');
      const result = await listener.stop({ timeoutMs: 20 });
      expect(result).toStrictEqual({ handedBack: 1, abandoned: 1 });
      const [back, reason, info] = await handedBack;
      expect([back.Body, reason, info.messageId]).toStrictEqual(['ignores-signal', 'stop_deadline', 'ignores-signal']);
      const batch = sqs.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.Entries;
      expect(batch).toStrictEqual([{ Id: '0', ReceiptHandle: 'rh-ignores-signal', VisibilityTimeout: 0 }]);

      // Restart while the abandoned handler still runs: it keeps one of the two slots.
      answers.push([message('ignores-signal', 2)], [message('c')]);
      const receivesBefore = sqs.commandCalls(ReceiveMessageCommand).length;
      listener.start();
      await nthEvent(listener, 'message_processed', 2);
      const sizes = sqs
        .commandCalls(ReceiveMessageCommand)
        .slice(receivesBefore)
        .map((call) => call.args[0].input.MaxNumberOfMessages ?? 0);
      expect(Math.max(...sizes)).toBe(1);
      expect(most).toBeLessThanOrEqual(2);
      stuck.open();
    });
  });

  describe('heartbeat', () => {
    it('sends one call at a time: a call that hangs is not followed by more, and is given up', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('long')] })
        .callsFake(slowEmpty);
      // The first extension never answers (and ignores the abort).
      sqs
        .on(ChangeMessageVisibilityCommand)
        .callsFake((input: { VisibilityTimeout: number }) =>
          input.VisibilityTimeout === 1 ? new Promise(() => undefined) : Promise.resolve({}),
        );
      let reason: unknown;
      const listener = listen({
        visibilityTimeout: 1,
        heartbeatIntervalSeconds: 0.05,
        handleMessage: async (_m, { signal }) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reason = signal.reason;
        },
      });
      const heartbeatFailed = nthEvent(listener, 'heartbeat_error');
      listener.start();
      const [error, failedMessage, info] = await heartbeatFailed;
      // Given up when the message would be visible again: 1 s − 0.05 s after it was sent.
      expect(visibilityCalls()).toStrictEqual(['rh-long 1']);
      expect(error).toBeInstanceOf(HeartbeatError);
      expect(error).toMatchObject({ code: 'ERR_HEARTBEAT', messageId: 'long' });
      expect((error.cause as Error).message).toMatch(/no answer within 950 ms/);
      expect(failedMessage.Body).toBe('long');
      expect(info.messageId).toBe('long');
      await nthEvent(listener, 'processing_error');
      expect(reason).toBe(error);
    });

    it('is stopped, its call in flight awaited, before the retry delay is set', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('m')] })
        .callsFake(slowEmpty);
      const order: string[] = [];
      const extending = gate();
      sqs.on(ChangeMessageVisibilityCommand).callsFake(async (input: { VisibilityTimeout: number }) => {
        const kind = input.VisibilityTimeout === 2 ? 'heartbeat' : 'retry delay';
        order.push(`${kind} sent`);
        if (kind === 'heartbeat') {
          extending.open();
          await new Promise((resolve) => setTimeout(resolve, 30));
        }
        order.push(`${kind} answered`);
        return {};
      });
      const listener = listen({
        visibilityTimeout: 2,
        heartbeatIntervalSeconds: 0.01,
        retryDelaySeconds: () => 9,
        handleMessage: async () => {
          await extending.promise;
          throw new Error('fails while an extension is in flight');
        },
      });
      const failed = nthEvent(listener, 'processing_error');
      listener.start();
      await failed;
      await listener.stop();
      expect(order.slice(0, 2)).toStrictEqual(['heartbeat sent', 'heartbeat answered']);
      expect(order.slice(-2)).toStrictEqual(['retry delay sent', 'retry delay answered']);
      expect(order.filter((line) => line === 'heartbeat sent')).toHaveLength(1);
    });
  });

  describe('retry delay', () => {
    it.each([
      ['Infinity', () => Number.POSITIVE_INFINITY, 43_200],
      ['-Infinity', () => Number.NEGATIVE_INFINITY, 0],
      ['NaN', () => Number.NaN, 10],
      ['undefined', () => undefined as unknown as number, 10],
      [
        'a throw',
        () => {
          throw new Error('broken');
        },
        10,
      ],
      ['2.6', () => 2.6, 3],
    ])(
      'turns %s into what SQS accepts (the default when it is not a number)',
      async (_name, retryDelaySeconds, expected) => {
        sqs
          .on(ReceiveMessageCommand)
          .resolvesOnce({ Messages: [message('m', 2)] })
          .callsFake(slowEmpty);
        const listener = listen({
          retryDelaySeconds,
          handleMessage: async () => {
            throw new Error('nope');
          },
        });
        const failed = nthEvent(listener, 'processing_error');
        listener.start();
        const [, , delay] = await failed;
        expect(delay).toBe(expected);
        await listener.stop();
        expect(visibilityCalls()).toContain(`rh-m ${expected}`);
      },
    );
  });

  describe('events', () => {
    it('fires message_processed after the delete has been answered, with the message id and receive count', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('m', 3)] })
        .callsFake(slowEmpty);
      const deleting = gate();
      const answer = gate<object>();
      sqs.on(DeleteMessageBatchCommand).callsFake(() => {
        deleting.open();
        return answer.promise;
      });
      const listener = listen();
      let processed = false;
      const received = nthEvent(listener, 'message_received');
      listener.on('message_processed', () => {
        processed = true;
      });
      const done = nthEvent(listener, 'message_processed');
      listener.start();
      expect((await received)[1]).toStrictEqual({ messageId: 'm', receiveCount: 3 });
      await deleting.promise;
      expect(processed).toBe(false);
      answer.open({});
      const [, info] = await done;
      expect(info).toStrictEqual({ messageId: 'm', receiveCount: 3 });
    });

    it('reports a failed delete with the message id instead of message_processed', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('m')] })
        .callsFake(slowEmpty);
      sqs.on(DeleteMessageBatchCommand).resolves({
        Failed: [{ Id: '0', Code: 'ReceiptHandleIsInvalid', SenderFault: true }],
      });
      const listener = listen();
      let processed = 0;
      listener.on('message_processed', () => processed++);
      const failed = nthEvent(listener, 'delete_error');
      listener.start();
      const [, , info] = await failed;
      await listener.stop();
      expect(info.messageId).toBe('m');
      expect(processed).toBe(0);
    });

    it('routes a throwing or rejecting event listener to logger.warn; the others still run', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('m')] })
        .callsFake(slowEmpty);
      const warnings: { fields: Record<string, unknown>; message: string | undefined }[] = [];
      const listener = listen({
        logger: { warn: (fields, message) => void warnings.push({ fields: fields as never, message }) },
      });
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      let later = 0;
      listener.on('message_received', () => {
        throw new Error('sync bug');
      });
      listener.on('message_received', async () => {
        throw new Error('async bug');
      });
      listener.on('message_received', () => {
        later++;
      });
      const processed = nthEvent(listener, 'message_processed');
      listener.start();
      await processed;
      await new Promise((resolve) => setImmediate(resolve));
      process.off('unhandledRejection', onUnhandled);
      expect(later).toBe(1);
      expect(unhandled).toStrictEqual([]);
      const reports = warnings.filter((w) => w.fields.event === 'message_received');
      expect(reports.map((w) => (w.fields.err as Error).message).sort()).toStrictEqual(['async bug', 'sync bug']);
    });

    it('falls back to a process warning when logger.warn itself throws', async () => {
      sqs
        .on(ReceiveMessageCommand)
        .resolvesOnce({ Messages: [message('m')] })
        .callsFake(slowEmpty);
      const listener = listen({
        logger: {
          warn: () => {
            throw new Error('logger down');
          },
        },
      });
      const warned = new Promise<Error>((resolve) => process.once('warning', resolve));
      listener.on('message_received', () => {
        throw new Error('listener bug');
      });
      const processed = nthEvent(listener, 'message_processed');
      listener.start();
      await processed;
      const warning = await warned;
      expect(warning.message).toMatch(/message_received.*listener bug/);
    });
  });

  describe('logger', () => {
    it('keeps polling when logger.warn throws on every receive failure', async () => {
      sqs.on(ReceiveMessageCommand).rejects(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      const unhandled: unknown[] = [];
      const onUnhandled = (reason: unknown) => unhandled.push(reason);
      process.on('unhandledRejection', onUnhandled);
      const listener = listen({
        receiveErrorBackoff: { minMs: 5, maxMs: 10 },
        logger: {
          warn: () => {
            throw new Error('logger down');
          },
        },
      });
      const third = nthEvent(listener, 'receive_error', 3);
      listener.start();
      await third;
      process.off('unhandledRejection', onUnhandled);
      expect(unhandled).toStrictEqual([]);
      expect(listener.status).toBe('running');
      expect(listener.health().consecutiveReceiveFailures).toBeGreaterThanOrEqual(3);
    });
  });

  describe('.health', () => {
    it('reports failing receives as degraded, JSON-safe, and clears them on a success', async () => {
      const denied = Object.assign(new Error('Access to the queue is denied'), {
        name: 'AccessDenied',
        $metadata: { httpStatusCode: 403 },
        $response: { socket: {} },
      });
      sqs
        .on(ReceiveMessageCommand)
        .rejectsOnce(denied)
        .rejectsOnce(denied)
        .resolvesOnce({ Messages: [] })
        .callsFake(slowEmpty);
      const listener = listen({ receiveErrorBackoff: { minMs: 5, maxMs: 10 } });
      expect(listener.health()).toStrictEqual({
        status: 'idle',
        degraded: false,
        consecutiveReceiveFailures: 0,
        inFlight: 0,
        abandoned: 0,
      });
      const second = nthEvent(listener, 'receive_error', 2);
      listener.start();
      await second;
      const failing = listener.health();
      expect(failing).toMatchObject({ status: 'running', degraded: true, consecutiveReceiveFailures: 2 });
      expect(JSON.parse(JSON.stringify(failing)).lastReceiveError).toStrictEqual({
        name: 'AccessDenied',
        message: 'Access to the queue is denied',
        httpStatusCode: 403,
      });
      expect(failing.lastReceiveAt).toBeUndefined();
      await nthEvent(listener, 'empty');
      const healthy = listener.health();
      expect(healthy).toMatchObject({ degraded: false, consecutiveReceiveFailures: 0 });
      expect(healthy.lastReceiveAt).toBeInstanceOf(Date);
      expect(healthy.lastReceiveError?.name).toBe('AccessDenied');
    });

    it('summarizes a typed error with its toJSON()', async () => {
      const typed = new HeartbeatError('typed', { messageId: 'x' });
      sqs.on(ReceiveMessageCommand).rejects(typed);
      const listener = listen({ receiveErrorBackoff: { minMs: 5, maxMs: 10 } });
      const failed = nthEvent(listener, 'receive_error');
      listener.start();
      await failed;
      const summary = listener.health().lastReceiveError;
      expect(summary).toStrictEqual(typed.toJSON());
      expect(isS3SyncError(typed)).toBe(true);
    });
  });

  describe('options', () => {
    it.each([
      [{ visibilityTimeout: 0 }, RangeError, /visibilityTimeout.*from 1 to 43200.*received 0/],
      [{ emptyReceiveDelayMs: 0 }, RangeError, /emptyReceiveDelayMs/],
      [{ handlerTimeoutMs: 2 ** 31 }, RangeError, /handlerTimeoutMs/],
    ])('refuses %j', (override, type, text) => {
      const options = { client, queueUrl: QUEUE, handleMessage: async () => undefined, ...override };
      expect(() => new SqsListener(options)).toThrow(type);
      expect(() => new SqsListener(options)).toThrow(text);
    });
  });
});
