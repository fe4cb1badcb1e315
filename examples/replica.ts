/**
 * One replica of an MCP server registry, kept in step with `registry.json` in S3 by
 * `createS3Sync`, against an embedded S3/SQS/SNS emulator (nothing else to run, no AWS account):
 *
 *   npm run build && node examples/replica.ts
 *
 * S3 → SNS → this replica's own queue → createS3Sync (decode, policy, download with If-Match,
 * validate before the file is replaced, publish, acknowledge). A bad update is refused and the
 * good data keeps being served.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { buildApp } from 'fauxqs';
import { createS3Sync } from 's3-sqs-sync';

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
    let sequencer = 0;
    const put = async (body: string) => {
      const { ETag = '' } = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: body }));
      // The emulator does not send S3 event notifications, so the publisher's event is sent here.
      const object = { key: 'registry.json', eTag: ETag.replaceAll('"', ''), sequencer: (++sequencer).toString(16) };
      const event = {
        Records: [{ eventSource: 'aws:s3', eventName: 'ObjectCreated:Put', s3: { bucket: { name: bucket }, object } }],
      };
      await sns.send(new PublishCommand({ TopicArn, Message: JSON.stringify(event) }));
    };
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: JSON.stringify(sample) }));

    // The replica: about ten lines.
    const sync = createS3Sync<Registry>({
      sqs: { client: sqs, queueUrl: QueueUrl, waitTimeSeconds: 1 },
      s3: { client: s3 },
      target: join(dir, 'registry.json'),
      source: `s3://${bucket}/registry.json`,
      validate: validateRegistry,
    });
    sync.on('update_applied', ({ version, snapshot, etag }) => {
      report.versions.push(version);
      report.serverCounts.push(snapshot.data.servers.length);
      log(`serving version ${version}: ${snapshot.data.servers.length} servers (etag ${etag})`);
    });
    sync.on('update_failed', (error) => {
      const code = error.cause instanceof Error && 'code' in error.cause ? String(error.cause.code) : error.code;
      report.refused.push(code);
      log(`refused an update (${code}): still serving version ${sync.health().version}`);
    });
    await sync.start();

    // A good update: one more server.
    const more = { ...sample, servers: [...sample.servers, { server: { name: 'io.example/new-server' } }] };
    let done = new Promise((resolve) => sync.once('update_applied', resolve));
    await put(JSON.stringify(more));
    await done;

    // A bad update: truncated JSON. The replica refuses it and keeps serving the last good data.
    done = new Promise((resolve) => sync.once('update_failed', resolve));
    await put(JSON.stringify(more).slice(0, 100));
    await done;
    log(`get() still answers: ${sync.store.get().servers.length} servers`);

    await sync.stop();
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
