import { DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HandlerTimeoutError, HeartbeatError, SqsListener, type SqsListenerOptions } from '../../src/index.ts';
import {
  createQueue,
  type Emulator,
  queueDepth,
  recordingSqsClient,
  sendMessages,
  startEmulator,
} from '../support/emulator.ts';
import { gate, nthEvent } from '../support/events.ts';

const work = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('SqsListener over HTTP (fauxqs): hardening', () => {
  let emu: Emulator;
  const listeners: SqsListener[] = [];

  beforeAll(async () => {
    emu = await startEmulator();
  });

  afterEach(async () => {
    await Promise.all(listeners.splice(0).map((l) => l.stop({ timeoutMs: 1000 })));
  });

  afterAll(async () => {
    await emu.stop();
  });

  function listen(options: Partial<SqsListenerOptions> & Pick<SqsListenerOptions, 'queueUrl' | 'handleMessage'>) {
    const listener = new SqsListener({ client: emu.sqs, waitTimeSeconds: 1, ...options });
    listeners.push(listener);
    return listener;
  }

  describe('FIFO queues', () => {
    it('handles the messages of a group in order, one after the other, groups side by side', async () => {
      const { url } = await createQueue(emu, { fifo: true });
      await sendMessages(emu, url, ['a1', 'a2', 'a3'], 'a');
      await sendMessages(emu, url, ['b1', 'b2'], 'b');
      const { client, calls } = recordingSqsClient(emu);
      const log: string[] = [];
      const listener = listen({
        client,
        queueUrl: url,
        concurrency: 10,
        handleMessage: async (m) => {
          log.push(`start ${m.Body}`);
          await work(20);
          log.push(`end ${m.Body}`);
        },
      });
      listener.on('message_processed', (m, info) => log.push(`deleted ${m.Body} ${info.groupId}`));
      const done = nthEvent(listener, 'message_processed', 5);
      listener.start();
      await done;
      expect(log.filter((line) => / a\d/.test(line))).toStrictEqual([
        'start a1',
        'end a1',
        'deleted a1 a',
        'start a2',
        'end a2',
        'deleted a2 a',
        'start a3',
        'end a3',
        'deleted a3 a',
      ]);
      expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
      const receive = calls.find((call) => call.name === 'ReceiveMessageCommand')?.input;
      expect(receive?.ReceiveRequestAttemptId).toMatch(/^[0-9a-f-]{36}$/);
      expect(receive?.MessageSystemAttributeNames).toContain('MessageGroupId');
      await listener.stop();
      expect(await queueDepth(emu, url)).toStrictEqual({ visible: 0, inFlight: 0 });
      client.destroy();
    });

    it('retries a failed message before the rest of its group', async () => {
      // fauxqs returns one message per group per receive (SQS may return several: the hand-back
      // of the rest of a group is tested with a mock in listener-fifo.test.ts).
      const { url } = await createQueue(emu, { fifo: true });
      await sendMessages(emu, url, ['a1', 'a2', 'a3'], 'a');
      const started: string[] = [];
      const listener = listen({
        queueUrl: url,
        concurrency: 10,
        retryDelaySeconds: () => 0,
        handleMessage: async (m, { receiveCount }) => {
          started.push(m.Body ?? '');
          if (m.Body === 'a2' && receiveCount === 1) throw new Error('downstream refused');
        },
      });
      const done = nthEvent(listener, 'message_processed', 3);
      listener.start();
      await done;
      expect(started).toStrictEqual(['a1', 'a2', 'a2', 'a3']);
    });
  });

  describe('handlerTimeoutMs', () => {
    it('frees the slot of a handler that ignores its signal, and never deletes its message', async () => {
      const { url } = await createQueue(emu);
      await sendMessages(emu, url, ['stuck', 'next']);
      const stuck = gate();
      const listener = listen({
        queueUrl: url,
        concurrency: 1,
        handlerTimeoutMs: 200,
        retryDelaySeconds: () => 60,
        handleMessage: (m) => (m.Body === 'stuck' ? stuck.promise : Promise.resolve()),
      });
      const failed = nthEvent(listener, 'processing_error');
      const processed = nthEvent(listener, 'message_processed');
      listener.start();
      const [error, , delay] = await failed;
      expect(error).toBeInstanceOf(HandlerTimeoutError);
      expect(delay).toBe(60);
      expect((await processed)[0].Body).toBe('next');
      expect(listener.health()).toMatchObject({ abandoned: 1, degraded: true, status: 'running' });
      stuck.open();
      await new Promise((resolve) => setImmediate(resolve));
      expect(await listener.stop()).toStrictEqual({ handedBack: 0, abandoned: 0 });
      // 'stuck' waits out its 60 s retry delay: still there, not deleted.
      expect(await queueDepth(emu, url)).toStrictEqual({ visible: 0, inFlight: 1 });
    });
  });

  describe('short polling', () => {
    it('rests emptyReceiveDelayMs between empty receives instead of polling back to back', async () => {
      const { url } = await createQueue(emu);
      const { client, calls } = recordingSqsClient(emu);
      const listener = listen({
        client,
        queueUrl: url,
        waitTimeSeconds: 0,
        emptyReceiveDelayMs: 150,
        handleMessage: async () => undefined,
      });
      const started = performance.now();
      const fourth = nthEvent(listener, 'empty', 4);
      listener.start();
      await fourth;
      expect(performance.now() - started).toBeGreaterThanOrEqual(3 * 150 - 5);
      expect(calls.filter((call) => call.name === 'ReceiveMessageCommand').length).toBeLessThanOrEqual(5);
      client.destroy();
    });
  });

  describe('heartbeat', () => {
    it('reports a failed extension and aborts the handler with a HeartbeatError', async () => {
      const { url } = await createQueue(emu);
      await sendMessages(emu, url, ['held']);
      let reason: unknown;
      const listener = listen({
        queueUrl: url,
        visibilityTimeout: 5,
        heartbeatIntervalSeconds: 0.1,
        handleMessage: async (_m, { signal }) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reason = signal.reason;
        },
      });
      // Someone else deletes the message while it is being handled: the next extension fails.
      listener.on('message_received', (m) => {
        void emu.sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: m.ReceiptHandle }));
      });
      const failedBeat = nthEvent(listener, 'heartbeat_error');
      listener.start();
      const [error, m, info] = await failedBeat;
      expect(error).toBeInstanceOf(HeartbeatError);
      expect(error.messageId).toBe(m.MessageId);
      expect(info.messageId).toBe(m.MessageId);
      expect((error.cause as Error).name).toBe('MessageNotInflight');
      await nthEvent(listener, 'processing_error');
      expect(reason).toBe(error);
    });

    it('aborts the handler when maxExtensionSeconds is reached', async () => {
      const { url } = await createQueue(emu);
      await sendMessages(emu, url, ['stuck']);
      let reason: unknown;
      const listener = listen({
        queueUrl: url,
        visibilityTimeout: 1,
        heartbeatIntervalSeconds: 0.25,
        maxExtensionSeconds: 1.5,
        handleMessage: async (_m, { signal }) => {
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          reason = signal.reason;
        },
      });
      const failedBeat = nthEvent(listener, 'heartbeat_error');
      listener.start();
      const [error] = await failedBeat;
      expect(error).toMatchObject({ code: 'ERR_HEARTBEAT' });
      expect(error.cause).toBeUndefined();
      expect(error.message).toMatch(/maxExtensionSeconds/);
      await nthEvent(listener, 'processing_error');
      expect(reason).toBe(error);
    });
  });

  describe('.stop', () => {
    it('reports the messages it handed back at the deadline and the handlers it abandoned', async () => {
      const { url } = await createQueue(emu);
      await sendMessages(emu, url, ['unfinished']);
      const stuck = gate();
      const listener = listen({ queueUrl: url, visibilityTimeout: 60, handleMessage: () => stuck.promise });
      const handedBack = nthEvent(listener, 'message_handed_back');
      listener.start();
      await nthEvent(listener, 'message_received');
      expect(await listener.stop({ timeoutMs: 100 })).toStrictEqual({ handedBack: 1, abandoned: 1 });
      const [m, reason] = await handedBack;
      expect([m.Body, reason]).toStrictEqual(['unfinished', 'stop_deadline']);
      stuck.open();
      const { Messages = [] } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2 }));
      expect(Messages.map((message) => message.Body)).toStrictEqual(['unfinished']);
    });
  });

  describe('.health', () => {
    it('says degraded while every receive fails, with a JSON-safe error', async () => {
      // Nothing listens on port 1: every receive fails at once with ECONNREFUSED.
      const { client } = recordingSqsClient(emu, 'http://127.0.0.1:1');
      const listener = listen({
        client,
        queueUrl: `${emu.endpoint}/000000000000/none`,
        receiveErrorBackoff: { minMs: 10, maxMs: 20 },
        handleMessage: async () => undefined,
      });
      const second = nthEvent(listener, 'receive_error', 2);
      listener.start();
      await second;
      const health = JSON.parse(JSON.stringify(listener.health()));
      expect(health).toMatchObject({ status: 'running', degraded: true, inFlight: 0, abandoned: 0 });
      expect(health.consecutiveReceiveFailures).toBeGreaterThanOrEqual(2);
      expect(health.lastReceiveError).toMatchObject({ code: 'ECONNREFUSED' });
      expect(health.lastReceiveError.message).not.toBe('');
      expect(health.lastReceiveAt).toBeUndefined();
      await listener.stop();
      client.destroy();
    });
  });
});
