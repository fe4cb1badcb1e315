/**
 * Helpers for trying the processor without an AWS account:
 *
 *   node examples/s3-upload-processor/local.ts emulator        # S3 + SQS on 127.0.0.1:4566, prints the env
 *   node examples/s3-upload-processor/local.ts upload <file> [key]   # what S3 and its event would do
 *
 * The emulator sends no S3 event notifications, so `upload` puts the object and then sends the
 * event S3 would have sent to the queue. Against AWS, S3 sends it itself (see README.md).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';

/** The body of an S3 event notification for one object written with `PutObject`. */
export function objectCreatedEvent(bucket: string, key: string, eTag: string, size: number): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: {
          bucket: { name: bucket },
          // S3 form-encodes keys in events: spaces as `+`, the rest percent-encoded.
          object: {
            key: encodeURIComponent(key).replaceAll('%20', '+').replaceAll('%2F', '/'),
            eTag: eTag.replaceAll('"', ''),
            size,
            // Event order per key; a timestamp grows, which is all this example needs.
            sequencer: Date.now().toString(16).toUpperCase().padStart(16, '0'),
          },
        },
      },
    ],
  });
}

/** Puts `file` into the first allowed bucket and announces it on the queue. */
export async function upload(
  env: Readonly<Record<string, string | undefined>>,
  file: string,
  key = `incoming/${basename(file)}`,
  clients: { s3?: S3Client; sqs?: SQSClient } = {},
): Promise<{ bucket: string; key: string; eTag: string }> {
  const bucket = env.ALLOWED_BUCKETS?.split(',')[0]?.trim();
  const queueUrl = env.QUEUE_URL;
  if (bucket === undefined || bucket === '' || queueUrl === undefined) {
    throw new Error('Set ALLOWED_BUCKETS and QUEUE_URL as printed by `local.ts emulator`');
  }
  // From the environment (AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL_SQS…), pointed at the emulator.
  const s3 = clients.s3 ?? new S3Client({ forcePathStyle: true });
  const sqs = clients.sqs ?? new SQSClient({ useQueueUrlAsEndpoint: false });
  try {
    const body = await readFile(file);
    const { ETag = '' } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: objectCreatedEvent(bucket, key, ETag, body.length) }),
    );
    return { bucket, key, eTag: ETag.replaceAll('"', '') };
  } finally {
    if (clients.s3 === undefined) s3.destroy();
    if (clients.sqs === undefined) sqs.destroy();
  }
}

async function emulator(port: number): Promise<void> {
  const app = buildApp({ logger: false, defaultRegion: 'us-east-1' });
  await app.listen({ host: '127.0.0.1', port });
  const endpoint = `http://127.0.0.1:${port}`;
  const config = {
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client(config);
  const sqs = new SQSClient(config);
  await s3.send(new CreateBucketCommand({ Bucket: 'uploads' }));
  const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'upload-events' }));
  s3.destroy();
  sqs.destroy();
  const path = new URL(QueueUrl).pathname;
  process.stdout.write(
    [
      `S3 and SQS emulator on ${endpoint} (Ctrl-C stops it). In other shells:`,
      '',
      `export AWS_ENDPOINT_URL_S3=${endpoint} AWS_ENDPOINT_URL_SQS=${endpoint} AWS_REGION=us-east-1`,
      'export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test',
      `export QUEUE_URL=${endpoint}${path} ALLOWED_BUCKETS=uploads WORK_DIR=/tmp/upload-work`,
      'export API_KEY=local-demo-key-change-me PORT=3000',
      '',
      '',
    ].join('\n'),
  );
  process.once('SIGINT', () => void app.close().then(() => process.exit(0)));
  process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
}

// Run as a script, not when imported (the test imports `upload`).
const [command, ...args] = process.argv[1] === fileURLToPath(import.meta.url) ? process.argv.slice(2) : [];
if (command === 'emulator') {
  await emulator(Number(process.env.EMULATOR_PORT ?? 4566));
} else if (command === 'upload' && args[0] !== undefined) {
  const { bucket, key, eTag } = await upload(process.env, args[0], args[1]);
  process.stdout.write(`uploaded s3://${bucket}/${key} (ETag ${eTag}) and sent its event\n`);
} else if (command !== undefined) {
  process.stderr.write('usage: local.ts emulator | local.ts upload <file> [key]\n');
  process.exitCode = 2;
}
