import { EventEmitter, once } from 'node:events';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqsListener, type SqsListenerOptions } from '../../src/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { nthEvent } from '../support/events.ts';

/** An SQS client that records every command it sends, and announces each on `sent`. */
function recordingClient(emu: Emulator, endpoint?: string): { client: SQSClient; calls: string[]; sent: EventEmitter } {
  const client = new SQSClient(emu.clientConfig(endpoint));
  const calls: string[] = [];
  const sent = new EventEmitter();
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(context.commandName ?? '?');
      sent.emit(context.commandName ?? '?');
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, calls, sent };
}

function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe('SqsListener over HTTP (fauxqs)', () => {
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

  async function queue(attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
    const { QueueUrl = '' } = await emu.sqs.send(
      new CreateQueueCommand({ QueueName: emu.uniqueName('q'), Attributes: attributes }),
    );
    const { Attributes = {} } = await emu.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    return { url: QueueUrl, arn: Attributes.QueueArn ?? '' };
  }

  async function send(url: string, bodies: string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
      await emu.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: url,
          Entries: bodies.slice(i, i + 10).map((body, j) => ({ Id: String(j), MessageBody: body })),
        }),
      );
    }
  }

  async function depth(url: string): Promise<{ visible: number; inFlight: number }> {
    const { Attributes = {} } = await emu.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: url,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    return {
      visible: Number(Attributes.ApproximateNumberOfMessages),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
    };
  }

  function listen(options: Partial<SqsListenerOptions> & Pick<SqsListenerOptions, 'queueUrl' | 'handleMessage'>) {
    const listener = new SqsListener({ client: emu.sqs, waitTimeSeconds: 1, ...options });
    listeners.push(listener);
    return listener;
  }

  describe('acknowledgement', () => {
    it('deletes a message only after its handler resolves', async () => {
      const { url } = await queue();
      await send(url, ['{"s3_url":"s3://registry-prod/registry.json"}']);
      const release = gate();
      const listener = listen({ queueUrl: url, handleMessage: () => release.promise });
      listener.start();
      await nthEvent(listener, 'message_received', 1);
      expect(await depth(url)).toStrictEqual({ visible: 0, inFlight: 1 });
      release.open();
      await nthEvent(listener, 'message_processed', 1);
      await listener.stop();
      expect(await depth(url)).toStrictEqual({ visible: 0, inFlight: 0 });
    });

    it('deletes in batches', async () => {
      const { url } = await queue();
      await send(
        url,
        Array.from({ length: 20 }, (_, i) => `m${i}`),
      );
      const { client, calls } = recordingClient(emu);
      const listener = listen({ client, queueUrl: url, concurrency: 10, handleMessage: async () => undefined });
      const done = nthEvent(listener, 'message_processed', 20);
      listener.start();
      await done;
      await listener.stop();
      const deletes = calls.filter((c) => c === 'DeleteMessageBatchCommand').length;
      expect(deletes).toBeGreaterThanOrEqual(2);
      expect(deletes).toBeLessThanOrEqual(10);
      expect(calls).not.toContain('DeleteMessageCommand');
      expect(await depth(url)).toStrictEqual({ visible: 0, inFlight: 0 });
      client.destroy();
    });
  });

  describe('failures', () => {
    it('leaves a failed message to come back after retryDelaySeconds, then to the dead-letter queue', async () => {
      const dlq = await queue();
      const { url } = await queue({
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: '2' }),
      });
      await send(url, ['{"s3_url":"s3://registry-prod/broken.json"}']);
      const counts: number[] = [];
      const delays: number[] = [];
      const listener = listen({
        queueUrl: url,
        retryDelaySeconds: (receiveCount) => receiveCount - 1,
        handleMessage: async (_message, { receiveCount }) => {
          counts.push(receiveCount);
          throw new Error('registry.json failed validation');
        },
      });
      listener.on('processing_error', (_error, _message, delay) => delays.push(delay));
      const secondFailure = nthEvent(listener, 'processing_error', 2);
      listener.start();
      await secondFailure;
      expect(counts).toStrictEqual([1, 2]);
      expect(delays).toStrictEqual([0, 1]);
      // After maxReceiveCount receives, SQS moves the message to the dead-letter queue.
      const { Messages = [] } = await emu.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq.url, WaitTimeSeconds: 5 }),
      );
      expect(Messages.map((m) => m.Body)).toStrictEqual(['{"s3_url":"s3://registry-prod/broken.json"}']);
    });

    it('aborts a handler at handlerTimeoutMs and retries its message', async () => {
      const { url } = await queue();
      await send(url, ['slow']);
      let attempts = 0;
      const listener = listen({
        queueUrl: url,
        handlerTimeoutMs: 100,
        retryDelaySeconds: () => 0,
        handleMessage: async (_m, { signal }) => {
          attempts++;
          if (attempts === 1) await once(signal, 'abort');
        },
      });
      const [error] = await (async () => {
        const failed = nthEvent(listener, 'processing_error', 1);
        listener.start();
        return failed;
      })();
      expect((error as Error).name).toBe('HandlerTimeoutError');
      await nthEvent(listener, 'message_processed', 1);
      expect(attempts).toBe(2);
    });
  });

  describe('concurrency', () => {
    it('keeps the other slots busy while one message is slow, never exceeding the bound', async () => {
      const { url } = await queue();
      await send(url, ['slow', ...Array.from({ length: 39 }, (_, i) => `fast-${i}`)]);
      const slow = gate();
      let slowFinished = false;
      let running = 0;
      let most = 0;
      const listener = listen({
        queueUrl: url,
        concurrency: 10,
        handleMessage: async (message: Message) => {
          running++;
          most = Math.max(most, running);
          try {
            if (message.Body === 'slow') {
              await slow.promise;
              slowFinished = true;
            } else await new Promise((resolve) => setImmediate(resolve));
          } finally {
            running--;
          }
        },
      });
      const fastDone = nthEvent(listener, 'message_processed', 39);
      listener.start();
      await fastDone;
      // All 39 fast messages were handled while the slow one still held its slot.
      expect(slowFinished).toBe(false);
      expect(listener.inFlight).toBeGreaterThanOrEqual(1);
      expect(most).toBeLessThanOrEqual(10);
      expect(most).toBeGreaterThan(1);
      slow.open();
      await nthEvent(listener, 'message_processed', 1);
    });
  });

  describe('heartbeat', () => {
    it('keeps a long-running message invisible past its visibility timeout', async () => {
      const { url } = await queue();
      await send(url, ['long']);
      const release = gate();
      const listener = listen({
        queueUrl: url,
        visibilityTimeout: 2,
        heartbeatIntervalSeconds: 0.4,
        handleMessage: () => release.promise,
      });
      const extended = nthEvent(listener, 'visibility_extended', 6); // about 2.4 s: past the 2 s timeout
      listener.start();
      await extended;
      const { Messages = [] } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 0 }));
      expect(Messages).toHaveLength(0);
      release.open();
      await nthEvent(listener, 'message_processed', 1);
    });

    it('stops extending at maxExtensionSeconds, letting the message go back', async () => {
      const { url } = await queue();
      await send(url, ['stuck']);
      const release = gate();
      let extensions = 0;
      const listener = listen({
        queueUrl: url,
        visibilityTimeout: 1,
        heartbeatIntervalSeconds: 0.25,
        maxExtensionSeconds: 1.5,
        handleMessage: () => release.promise,
      });
      listener.on('visibility_extended', () => extensions++);
      listener.start();
      await nthEvent(listener, 'message_received', 1);
      const { Messages = [] } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 5 }));
      expect(Messages.map((m) => m.Body)).toStrictEqual(['stuck']);
      expect(extensions).toBeLessThanOrEqual(3);
      release.open();
    });
  });

  describe('receive errors', () => {
    it('backs off with jitter up to the cap instead of looping hot', async () => {
      // Nothing listens on port 1: every receive fails at once with ECONNREFUSED.
      const { client, calls } = recordingClient(emu, 'http://127.0.0.1:1');
      const backoffs: number[] = [];
      const listener = listen({
        client,
        queueUrl: `${emu.endpoint}/000000000000/none`,
        receiveErrorBackoff: { minMs: 20, maxMs: 160 },
        handleMessage: async () => undefined,
      });
      listener.on('receive_error', (_error, backoffMs) => backoffs.push(backoffMs));
      const sixth = nthEvent(listener, 'receive_error', 6);
      listener.start();
      await sixth;
      await listener.stop();
      const steps = [20, 40, 80, 160, 160, 160];
      backoffs.slice(0, 6).forEach((ms, i) => {
        expect(ms).toBeGreaterThanOrEqual((steps[i] ?? 0) / 2);
        expect(ms).toBeLessThanOrEqual(steps[i] ?? 0);
      });
      expect(calls.length).toBeLessThanOrEqual(7);
      client.destroy();
    });
  });

  describe('.stop', () => {
    it('aborts the open long poll at once', async () => {
      const { url } = await queue();
      const { client, sent } = recordingClient(emu);
      const listener = listen({ client, queueUrl: url, waitTimeSeconds: 20, handleMessage: async () => undefined });
      const polling = once(sent, 'ReceiveMessageCommand');
      listener.start();
      await polling;
      const started = performance.now();
      await listener.stop();
      expect(performance.now() - started).toBeLessThan(1000);
      expect(listener.status).toBe('stopped');
      client.destroy();
    });

    it('lets running handlers finish before resolving', async () => {
      const { url } = await queue();
      await send(url, ['finishing']);
      const release = gate();
      const listener = listen({ queueUrl: url, handleMessage: () => release.promise });
      listener.start();
      await nthEvent(listener, 'message_received', 1);
      const stopping = listener.stop({ timeoutMs: 10_000 });
      expect(listener.status).toBe('stopping');
      release.open();
      await stopping;
      expect(await depth(url)).toStrictEqual({ visible: 0, inFlight: 0 });
    });

    it('aborts handlers at the deadline and hands their messages back at once', async () => {
      const { url } = await queue();
      await send(url, ['unfinished']);
      let reason: unknown;
      const listener = listen({
        queueUrl: url,
        visibilityTimeout: 60,
        handleMessage: async (_m, { signal }) => {
          await once(signal, 'abort');
          reason = signal.reason;
        },
      });
      listener.start();
      await nthEvent(listener, 'message_received', 1);
      const stopped = nthEvent(listener, 'stopped', 1);
      await listener.stop({ timeoutMs: 100 });
      await stopped;
      expect((reason as Error).name).toBe('StopDeadlineError');
      // Visible again now, not after the 60 s visibility timeout.
      const { Messages = [] } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 2 }));
      expect(Messages.map((m) => m.Body)).toStrictEqual(['unfinished']);
    });

    it('is safe to call twice, and start() works again afterwards', async () => {
      const { url } = await queue();
      const seen: string[] = [];
      const listener = listen({ queueUrl: url, handleMessage: async (m) => void seen.push(m.Body ?? '') });
      listener.start();
      listener.start();
      const first = listener.stop();
      expect(listener.stop()).toBe(first);
      await first;
      await send(url, ['after restart']);
      listener.start();
      await nthEvent(listener, 'message_processed', 1);
      expect(seen).toStrictEqual(['after restart']);
    });

    it('leaves no timers behind', async () => {
      const { url } = await queue();
      await send(url, ['one']);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      // Short polls: the emulator holds no long poll open, so every timer left would be ours.
      const listener = listen({
        queueUrl: url,
        waitTimeSeconds: 0,
        visibilityTimeout: 5,
        handlerTimeoutMs: 5000,
        handleMessage: async () => undefined,
      });
      listener.start();
      await nthEvent(listener, 'message_processed', 1);
      await listener.stop();
      expect(timers()).toBeLessThanOrEqual(before);
    });
  });
});
