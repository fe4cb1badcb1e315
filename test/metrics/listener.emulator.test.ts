import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SqsListener, type SqsListenerOptions } from '../../src/index.ts';
import { instrument } from '../../src/metrics/index.ts';
import { type Emulator, startEmulator } from '../support/emulator.ts';
import { createTestMeter } from './meter.ts';

let emulator: Emulator;
let listeners: SqsListener[] = [];
beforeAll(async () => {
  emulator = await startEmulator();
});
afterEach(async () => {
  await Promise.all(listeners.map((listener) => listener.stop({ timeoutMs: 1_000 })));
  listeners = [];
});
afterAll(async () => {
  await emulator?.stop();
});

function listen(options: Pick<SqsListenerOptions, 'queueUrl' | 'handleMessage'> & Partial<SqsListenerOptions>) {
  const listener = new SqsListener({ client: emulator.sqs, waitTimeSeconds: 1, visibilityTimeout: 5, ...options });
  listeners.push(listener);
  return listener;
}

/** A client on the emulator whose `commandName` calls fail as if SQS refused them. */
function failing(commandName: string): SQSClient {
  const client = new SQSClient(emulator.clientConfig());
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) {
        throw Object.assign(new Error('refused by the test'), { name: 'AccessDenied' });
      }
      return next(args);
    },
    { step: 'initialize' },
  );
  return client;
}

async function queue(): Promise<{ queueName: string; queueUrl: string }> {
  const queueName = emulator.uniqueName('bare');
  const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
  return { queueName, queueUrl: QueueUrl as string };
}

describe('instrument', () => {
  describe('an SqsListener', () => {
    it('records messages consumed, and processed or failed with their error.type', async () => {
      const queueName = emulator.uniqueName('bare');
      const { QueueUrl } = await emulator.sqs.send(new CreateQueueCommand({ QueueName: queueName }));
      const queueUrl = QueueUrl as string;
      let calls = 0;
      const listener = listen({
        queueUrl,
        retryDelaySeconds: () => 0,
        handleMessage: async () => {
          calls += 1;
          if (calls === 1) throw new TypeError('not this time');
        },
      });
      const { meter, collect, provider } = createTestMeter();
      instrument(listener, { meter, queueUrl });
      const failed = new Promise((resolve) => listener.once('processing_error', resolve));
      const processed = new Promise((resolve) => listener.once('message_processed', resolve));
      listener.start();
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
      await failed;
      await processed;

      const seen = await collect();
      const messaging = { 'messaging.system': 'aws_sqs', 'messaging.destination.name': queueName };
      expect(seen.points('messaging.client.consumed.messages')).toEqual([
        { attributes: { ...messaging, 'messaging.operation.name': 'receive' }, value: 2 },
      ]);
      const process = { ...messaging, 'messaging.operation.name': 'process' };
      expect(seen.points('messaging.process.duration').map(({ attributes, count }) => ({ attributes, count }))).toEqual(
        expect.arrayContaining([
          { attributes: process, count: 1 },
          { attributes: { ...process, 'error.type': 'TypeError' }, count: 1 },
        ]),
      );
      expect(seen.metric('messaging.process.duration')?.descriptor.unit).toBe('s');
      expect(seen.points('s3_sync.handlers.in_flight')).toEqual([{ attributes: messaging, value: 0 }]);
      // A bare listener has no pipeline: no update or store instruments.
      expect(seen.names().filter((name) => name.startsWith('s3_sync.') && !/handlers|sqs|messages/.test(name))).toEqual(
        [],
      );
      await provider.shutdown();
    });

    it('counts a failed delete, and the delivery as failed', async () => {
      const { queueName, queueUrl } = await queue();
      const listener = listen({
        client: failing('DeleteMessageBatchCommand'),
        queueUrl,
        handleMessage: async () => {},
      });
      const { meter, collect, provider } = createTestMeter();
      instrument(listener, { meter, queueUrl });
      const deleteError = new Promise((resolve) => listener.once('delete_error', resolve));
      listener.start();
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
      await deleteError;

      const seen = await collect();
      const messaging = { 'messaging.system': 'aws_sqs', 'messaging.destination.name': queueName };
      expect(seen.points('s3_sync.sqs.errors')).toEqual([
        { attributes: { ...messaging, 's3_sync.operation': 'delete', 'error.type': 'AccessDenied' }, value: 1 },
      ]);
      expect(seen.points('messaging.process.duration').map(({ attributes, count }) => ({ attributes, count }))).toEqual(
        [
          {
            attributes: { ...messaging, 'messaging.operation.name': 'process', 'error.type': 'AccessDenied' },
            count: 1,
          },
        ],
      );
      await provider.shutdown();
    });

    it('counts a failed heartbeat', async () => {
      const { queueUrl } = await queue();
      const listener = listen({
        client: failing('ChangeMessageVisibilityCommand'),
        queueUrl,
        visibilityTimeout: 5,
        heartbeatIntervalSeconds: 0.05,
        // The heartbeat's failure aborts the handler's signal: the handler ends then.
        handleMessage: (_message, { signal }) =>
          new Promise((_resolve, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      });
      const { meter, collect, provider } = createTestMeter();
      instrument(listener, { meter });
      const failed = new Promise((resolve) => listener.once('processing_error', resolve));
      listener.start();
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
      await failed;

      const seen = await collect();
      expect(
        seen.total('s3_sync.sqs.errors', { 's3_sync.operation': 'heartbeat', 'error.type': 'ERR_HEARTBEAT' }),
      ).toBe(1);
      expect(seen.total('messaging.process.duration', { 'error.type': 'ERR_HEARTBEAT' })).toBe(1);
      await provider.shutdown();
    });

    it('counts messages handed back at the stop deadline, and the handlers still held', async () => {
      const { queueUrl } = await queue();
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      const listener = listen({ queueUrl, handleMessage: () => released });
      const { meter, collect, provider } = createTestMeter();
      instrument(listener, { meter });
      const received = new Promise((resolve) => listener.once('message_received', resolve));
      listener.start();
      await emulator.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'hello' }));
      await received;
      expect((await collect()).points('s3_sync.handlers.in_flight')).toEqual([
        { attributes: { 'messaging.system': 'aws_sqs' }, value: 1 },
      ]);

      await listener.stop({ timeoutMs: 50 });
      const seen = await collect();
      expect(seen.points('s3_sync.messages.handed_back')).toEqual([
        { attributes: { 'messaging.system': 'aws_sqs', 's3_sync.hand_back.reason': 'stop_deadline' }, value: 1 },
      ]);
      expect(seen.total('s3_sync.handlers.abandoned')).toBe(1);
      release();
      await provider.shutdown();
    });

    it('counts failed receives by error.type', async () => {
      const queueUrl = `${emulator.clientConfig().endpoint}/000000000000/${emulator.uniqueName('missing')}`;
      const listener = listen({
        queueUrl,
        handleMessage: async () => {},
        receiveErrorBackoff: { minMs: 10, maxMs: 20 },
      });
      const { meter, collect, provider } = createTestMeter();
      instrument(listener, { meter });
      const receiveError = new Promise<unknown>((resolve) => listener.once('receive_error', resolve));
      listener.start();
      const error = (await receiveError) as { name: string };
      await listener.stop({ timeoutMs: 1_000 });

      const seen = await collect();
      const points = seen.points('s3_sync.sqs.errors');
      expect(points.length).toBeGreaterThan(0);
      expect(points[0]?.attributes).toEqual({
        'messaging.system': 'aws_sqs',
        's3_sync.operation': 'receive',
        'error.type': expect.any(String),
      });
      expect([error.name, (error as { code?: string }).code]).toContain(points[0]?.attributes['error.type']);
      await provider.shutdown();
    });
  });
});
