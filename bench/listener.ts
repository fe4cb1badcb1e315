/**
 * SqsListener against sqs-consumer on the same emulator, side by side: 5,000 messages preloaded
 * per run, a handler that waits 0-40 ms (the same delays for both: fixed by message index),
 * concurrency 10 (sqs-consumer: batchSize 10, its concurrency being one batch at a time). Then
 * receive requests per minute on an empty queue with long polling, and with SqsListener's
 * short polling (`waitTimeSeconds: 0`, resting `emptyReceiveDelayMs` between empty receives).
 */
import { CreateQueueCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { Consumer } from 'sqs-consumer';
import { SqsListener } from '../dist/index.js';
import { median, printTable } from './lib.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const EMPTY_SECONDS = Number(process.env.BENCH_EMPTY_SECONDS ?? 60);

const app = buildApp({ logger: false });
await app.listen({ host: '127.0.0.1', port: 0 });
const address = app.server.address();
if (address === null || typeof address === 'string') throw new Error('no port');
const config = {
  endpoint: `http://127.0.0.1:${address.port}`,
  region: 'us-east-1',
  credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
};

/** A client that counts its ReceiveMessage requests. */
function countingClient() {
  const client = new SQSClient(config);
  const counts = { receives: 0 };
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'ReceiveMessageCommand') counts.receives++;
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, counts };
}

const admin = new SQSClient(config);
let queues = 0;
async function preloadedQueue(messages: number): Promise<string> {
  const { QueueUrl = '' } = await admin.send(new CreateQueueCommand({ QueueName: `bench-${queues++}` }));
  for (let i = 0; i < messages; i += 10) {
    const entries = Array.from({ length: Math.min(10, messages - i) }, (_, j) => ({
      Id: String(j),
      MessageBody: String(i + j),
    }));
    await admin.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
  }
  return QueueUrl;
}

const delayFor = (body: string | undefined) => (Number(body) * 7919) % 41; // 0..40 ms, same for both
const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves when `finish()` has been called: the last message of a run was handled. */
function finishLine(): { reached: Promise<void>; finish(): void } {
  let finish!: () => void;
  const reached = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return { reached, finish };
}

async function runOurs(queueUrl: string): Promise<number> {
  const client = new SQSClient(config);
  const line = finishLine();
  let done = 0;
  const listener = new SqsListener({
    client,
    queueUrl,
    concurrency: 10,
    waitTimeSeconds: 1,
    handleMessage: async (message) => {
      await wait(delayFor(message.Body));
      if (++done === MESSAGES) line.finish();
    },
  });
  const start = performance.now();
  listener.start();
  await line.reached;
  const seconds = (performance.now() - start) / 1000;
  await listener.stop();
  client.destroy();
  return MESSAGES / seconds;
}

async function runTheirs(queueUrl: string): Promise<number> {
  const client = new SQSClient(config);
  const line = finishLine();
  let done = 0;
  const consumer = Consumer.create({
    queueUrl,
    sqs: client,
    batchSize: 10,
    waitTimeSeconds: 1,
    handleMessage: async (message) => {
      await wait(delayFor(message.Body));
      if (++done === MESSAGES) line.finish();
      return message;
    },
  });
  consumer.on('error', () => undefined);
  const start = performance.now();
  consumer.start();
  await line.reached;
  const seconds = (performance.now() - start) / 1000;
  consumer.stop({ abort: true });
  client.destroy();
  return MESSAGES / seconds;
}

const ours: number[] = [];
const theirs: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  // Alternate which goes first, so neither always meets a warmer emulator.
  if (round % 2 === 0) {
    ours.push(await runOurs(await preloadedQueue(MESSAGES)));
    theirs.push(await runTheirs(await preloadedQueue(MESSAGES)));
  } else {
    theirs.push(await runTheirs(await preloadedQueue(MESSAGES)));
    ours.push(await runOurs(await preloadedQueue(MESSAGES)));
  }
}

// Empty queues, default long polling (20 s), both at once; and SqsListener short polling.
const emptyOurs = countingClient();
const emptyTheirs = countingClient();
const emptyShort = countingClient();
const idleListener = new SqsListener({
  client: emptyOurs.client,
  queueUrl: await preloadedQueue(0),
  concurrency: 10,
  handleMessage: async () => undefined,
});
const idleConsumer = Consumer.create({
  queueUrl: await preloadedQueue(0),
  sqs: emptyTheirs.client,
  batchSize: 10,
  handleMessage: async (m) => m,
});
idleConsumer.on('error', () => undefined);
const shortPollListener = new SqsListener({
  client: emptyShort.client,
  queueUrl: await preloadedQueue(0),
  waitTimeSeconds: 0,
  handleMessage: async () => undefined,
});
idleListener.start();
shortPollListener.start();
idleConsumer.start();
await wait(EMPTY_SECONDS * 1000);
const perMinute = (n: number) => (n * 60) / EMPTY_SECONDS;
const oursIdle = perMinute(emptyOurs.counts.receives);
const theirsIdle = perMinute(emptyTheirs.counts.receives);
const shortIdle = perMinute(emptyShort.counts.receives);
await idleListener.stop({ timeoutMs: 1000 });
await shortPollListener.stop({ timeoutMs: 1000 });
idleConsumer.stop({ abort: true });

console.log(`\n${MESSAGES} messages, handler 0-40 ms, concurrency 10, ${ROUNDS} rounds (median)\n`);
printTable([
  ['consumer', 'messages/s', 'receives/min on an empty queue'],
  ['SqsListener', median(ours).toFixed(0), oursIdle.toFixed(1)],
  ['sqs-consumer', median(theirs).toFixed(0), theirsIdle.toFixed(1)],
  ['SqsListener, waitTimeSeconds 0', '–', shortIdle.toFixed(1)],
]);
console.log(`\nratio SqsListener / sqs-consumer: ${(median(ours) / median(theirs)).toFixed(2)}x`);
admin.destroy();
emptyOurs.client.destroy();
emptyTheirs.client.destroy();
emptyShort.client.destroy();
await app.close();
