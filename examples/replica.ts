/**
 * One replica of an MCP server registry, kept in step with `registry.json` in S3 by hand-composed
 * primitives, against an embedded S3/SQS/SNS emulator (nothing else to run, no AWS account):
 *
 *   npm run build && node examples/replica.ts
 *
 * S3 → SNS → this replica's own queue → SqsListener → downloadS3Object (verify = store.stage)
 * → rename → publish. A bad update is refused and the good data keeps being served.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import {
  downloadS3Object,
  isS3SyncError,
  JsonFileStore,
  type S3SyncError,
  SqsListener,
  type StagedUpdate,
} from 's3-sqs-sync';

interface Registry {
  readonly servers: readonly { readonly server: { readonly name: string } }[];
}

function validateRegistry(data: unknown): Registry {
  const servers = (data as { servers?: unknown } | null)?.servers;
  if (!Array.isArray(servers)) throw new Error('servers must be an array');
  for (const entry of servers) {
    if (typeof entry?.server?.name !== 'string') throw new Error('every server needs a name');
  }
  return data as Registry;
}

/** What the example observed, for the caller (and the test that runs it). */
export interface ReplicaReport {
  readonly versions: number[];
  readonly serverCounts: number[];
  readonly refused: string[];
}

export async function runReplica(
  fixturePath: string,
  log: (line: string) => void = console.log,
): Promise<ReplicaReport> {
  const app = buildApp({ logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  const config = {
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
  };
  const s3 = new S3Client(config);
  const sqs = new SQSClient(config);
  const sns = new SNSClient(config);
  const dir = await mkdtemp(join(tmpdir(), 'registry-replica-'));
  const report = { versions: [] as number[], serverCounts: [] as number[], refused: [] as string[] };

  try {
    // The publisher's side: a bucket, a topic for its events, and one queue per replica.
    const bucket = 'mcp-registry-demo';
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: 'registry-changes' }));
    const { QueueUrl = '' } = await sqs.send(new CreateQueueCommand({ QueueName: 'replica-1' }));
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));
    const sample = JSON.parse(await readFile(fixturePath, 'utf8')) as { servers: unknown[] };
    const put = async (body: string) => {
      const { ETag } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: body }));
      // The emulator does not send S3 event notifications, so the publisher's event is sent here.
      const event = {
        Records: [
          { eventSource: 'aws:s3', s3: { bucket: { name: bucket }, object: { key: 'registry.json', eTag: ETag } } },
        ],
      };
      await sns.send(new PublishCommand({ TopicArn, Message: JSON.stringify(event) }));
    };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: JSON.stringify(sample) }));

    // The replica: a store, and a sync step that stages the download before it replaces the file.
    const store = new JsonFileStore<Registry>({ path: join(dir, 'registry.json'), validate: validateRegistry });
    store.on('reloaded', (snapshot) => {
      report.versions.push(snapshot.version);
      report.serverCounts.push(snapshot.data.servers.length);
      log(
        `serving version ${snapshot.version}: ${snapshot.data.servers.length} servers (etag ${snapshot.source?.etag})`,
      );
    });
    store.on('reload_failed', (error: S3SyncError) => {
      report.refused.push(error.code);
      log(`refused an update (${error.code}): still serving version ${store.snapshot().version}`);
    });
    let etag: string | undefined;
    const sync = async (key: string, signal?: AbortSignal) => {
      const result = await downloadS3Object<StagedUpdate<Registry>>({
        client: s3,
        source: { bucket, key },
        target: store.path,
        ...(etag === undefined ? {} : { ifNoneMatch: etag }),
        ...(signal === undefined ? {} : { signal }),
        verify: (tempPath, info) => store.stage(tempPath, { etag: info.etag }),
      });
      if (result.status === 'downloaded') {
        result.verified?.publish(); // the file was renamed; now the memory follows, in one swap
        etag = result.etag;
      }
    };
    await sync('registry.json');

    const listener = new SqsListener({
      client: sqs,
      queueUrl: QueueUrl,
      waitTimeSeconds: 1,
      retryDelaySeconds: () => 60,
      handleMessage: async (message, { signal }) => {
        const envelope = JSON.parse(message.Body ?? '{}') as { Message?: string };
        const event = JSON.parse(envelope.Message ?? '{}') as { Records?: { s3: { object: { key: string } } }[] };
        for (const record of event.Records ?? []) {
          // S3 event keys are form-encoded: '+' is a space.
          const key = decodeURIComponent(record.s3.object.key.replaceAll('+', ' '));
          try {
            await sync(key, signal);
          } catch (error) {
            // A file that fails validation will not get better by retrying: acknowledge it.
            if (isS3SyncError(error) && error.code === 'ERR_VERIFY_FAILED') continue;
            throw error;
          }
        }
      },
    });
    const handled = () => new Promise<void>((resolve) => listener.once('message_processed', () => resolve()));
    listener.start();

    // A good update: one more server.
    const more = { ...sample, servers: [...sample.servers, { server: { name: 'io.example/new-server' } }] };
    let done = handled();
    await put(JSON.stringify(more));
    await done;

    // A bad update: truncated JSON. The replica refuses it and keeps serving the last good data.
    done = handled();
    await put(JSON.stringify(more).slice(0, 100));
    await done;
    log(`get() still answers: ${store.get().servers.length} servers`);

    await listener.stop();
    await store.close();
  } finally {
    s3.destroy();
    sqs.destroy();
    sns.destroy();
    await app.close();
    await rm(dir, { recursive: true, force: true });
  }
  return report;
}

if (process.argv[1] !== undefined && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  await runReplica(new URL('../test/fixtures/registry-v0-sample.json', import.meta.url).pathname);
}
