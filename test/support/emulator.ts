import { randomUUID } from 'node:crypto';
import { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

/** A running fauxqs emulator on loopback and real SDK clients pointed at it. */
export interface Emulator {
  /** `http://127.0.0.1:<port>` */
  readonly endpoint: string;
  readonly port: number;
  readonly region: string;
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly sns: SNSClient;
  /** Client options for any further SDK client pointed at this emulator (or at a proxy of it). */
  clientConfig(endpoint?: string): EmulatorClientConfig;
  /** A unique lowercase name for a bucket, queue or topic, so tests never collide. */
  uniqueName(prefix: string): string;
  stop(): Promise<void>;
}

export interface EmulatorClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly forcePathStyle: true;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
  readonly maxAttempts: number;
}

const REGION = 'us-east-1';

/**
 * Starts fauxqs in this process on 127.0.0.1 with an OS-assigned port. `startFauxqs()` would bind
 * 0.0.0.0, so the app is built and bound here instead. Call `stop()` in `afterAll`.
 */
export async function startEmulator(): Promise<Emulator> {
  const app = buildApp({ logger: false, defaultRegion: REGION });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('fauxqs did not bind a TCP port');
  const endpoint = `http://127.0.0.1:${address.port}`;

  const clientConfig = (override?: string): EmulatorClientConfig => ({
    endpoint: override ?? endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  const s3 = new S3Client(clientConfig());
  const sqs = new SQSClient(clientConfig());
  const sns = new SNSClient(clientConfig());

  return {
    endpoint,
    port: address.port,
    region: REGION,
    s3,
    sqs,
    sns,
    clientConfig,
    uniqueName: (prefix) => `${prefix}-${randomUUID().slice(0, 8)}`,
    async stop() {
      s3.destroy();
      sqs.destroy();
      sns.destroy();
      await app.close();
    },
  };
}

/** Creates a queue (a FIFO queue with `fifo`) and returns its URL and ARN. */
export async function createQueue(
  emu: Emulator,
  { fifo = false, attributes = {} }: { fifo?: boolean; attributes?: Record<string, string> } = {},
): Promise<{ url: string; arn: string }> {
  const { QueueUrl = '' } = await emu.sqs.send(
    new CreateQueueCommand({
      QueueName: emu.uniqueName('q') + (fifo ? '.fifo' : ''),
      Attributes: fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true', ...attributes } : attributes,
    }),
  );
  const { Attributes = {} } = await emu.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  return { url: QueueUrl, arn: Attributes.QueueArn ?? '' };
}

/** Sends `bodies` in batches of ten; on a FIFO queue, all in `groupId`. */
export async function sendMessages(
  emu: Emulator,
  url: string,
  bodies: readonly string[],
  groupId?: string,
): Promise<void> {
  for (let i = 0; i < bodies.length; i += 10) {
    await emu.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: bodies.slice(i, i + 10).map((body, j) => ({
          Id: String(j),
          MessageBody: body,
          ...(groupId === undefined ? {} : { MessageGroupId: groupId }),
        })),
      }),
    );
  }
}

/** Messages visible and in flight, as the queue's attributes tell. */
export async function queueDepth(emu: Emulator, url: string): Promise<{ visible: number; inFlight: number }> {
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

/** An SQS client on the emulator (or `endpoint`) that records each command it sends and its input. */
export function recordingSqsClient(
  emu: Emulator,
  endpoint?: string,
): { client: SQSClient; calls: { name: string; input: Record<string, unknown> }[] } {
  const client = new SQSClient(emu.clientConfig(endpoint));
  const calls: { name: string; input: Record<string, unknown> }[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push({ name: context.commandName ?? '?', input: args.input as Record<string, unknown> });
      return next(args);
    },
    { step: 'initialize' },
  );
  return { client, calls };
}
