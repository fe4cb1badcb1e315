import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, ListSubscriptionsByTopicCommand } from '@aws-sdk/client-sns';
import { GetQueueUrlCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPLICA_HELP } from '../../src/cli/help.ts';
import { type Emulator, queueDepth, startEmulator } from '../support/emulator.ts';
import { emulatorEnv, runCli } from './run-cli.ts';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.stop();
});

async function run(args: string[]) {
  const cli = runCli(args, emulatorEnv(emu.endpoint));
  const { code } = await cli.exited;
  return { code, output: cli.lines[0] as Record<string, unknown> | undefined, stderr: cli.stderr() };
}

describe('s3-sqs-sync replica-queue', () => {
  it('creates a queue subscribed to the topic, prints it as JSON, and deletes it', async () => {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const created = await run(['replica-queue', 'create', '--topic-arn', TopicArn, '--prefix', 'cli-test-']);
    expect(created.code).toBe(0);
    const { queueUrl, queueArn, subscriptionArn, queueName } = created.output as Record<string, string>;
    expect(queueName).toMatch(/^cli-test-[0-9a-f]{12}$/);
    expect(queueArn).toMatch(/^arn:aws:sqs:/);
    // --help names every field the command prints.
    for (const field of Object.keys(created.output ?? {})) expect(REPLICA_HELP).toContain(field);
    const subscriptions = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    expect(subscriptions.Subscriptions?.map((s) => s.SubscriptionArn)).toEqual([subscriptionArn]);

    const deleted = await run([
      'replica-queue',
      'delete',
      '--queue-url',
      queueUrl ?? '',
      '--subscription-arn',
      subscriptionArn ?? '',
    ]);
    expect(deleted).toMatchObject({ code: 0, output: { deleted: queueUrl, unsubscribed: subscriptionArn } });
    await expect(emu.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).rejects.toThrow();
    const after = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    expect(after.Subscriptions ?? []).toEqual([]);
  });

  it('sweeps with --dry-run, keeping a queue seen recently', async () => {
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const prefix = `${emu.uniqueName('sweep')}-`;
    const created = await run(['replica-queue', 'create', '--topic-arn', TopicArn, '--prefix', prefix]);
    const swept = await run(['replica-queue', 'sweep', '--prefix', prefix, '--older-than-ms', '600000', '--dry-run']);
    expect(swept.code).toBe(0);
    expect(swept.output).toMatchObject({ removed: [], kept: [{ queueUrl: created.output?.queueUrl }], failed: [] });
  });

  it('hands the created queue to sync and to delete through a file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-replica-file-'));
    try {
      const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
      const bucket = emu.uniqueName('bucket');
      await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
      await emu.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v0/registry.json', Body: '{"servers":[]}' }));
      const created = await run(['replica-queue', 'create', '--topic-arn', TopicArn, '--prefix', 'file-test-']);
      const queueFile = join(dir, 'queue.json');
      await writeFile(queueFile, `${JSON.stringify(created.output)}\n`);
      const { queueUrl, subscriptionArn } = created.output as Record<string, string>;

      const sync = runCli(
        [
          'sync',
          '--queue-url-file',
          queueFile,
          '--source',
          `s3://${bucket}/v0/registry.json`,
          '--target',
          join(dir, 'registry.json'),
        ],
        emulatorEnv(emu.endpoint),
      );
      const started = await sync.waitForLine((line) => line.msg === 'sync started');
      expect(started).toMatchObject({ queueUrl });
      sync.child.kill('SIGTERM');
      expect((await sync.exited).code).toBe(0);

      const deleted = await run(['replica-queue', 'delete', '--queue-url-file', queueFile]);
      expect(deleted).toMatchObject({ code: 0, output: { deleted: queueUrl, unsubscribed: subscriptionArn } });
      const after = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
      expect(after.Subscriptions ?? []).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('create with the same --replica-id gives back the same queue and subscription, messages and all', async () => {
    // What a restarted sidecar container relies on: it runs create again with its pod's uid.
    const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
    const args = ['replica-queue', 'create', '--topic-arn', TopicArn, '--prefix', 'again-', '--replica-id'];
    const replicaId = emu.uniqueName('pod').replaceAll('.', '-');
    const first = await run([...args, replicaId]);
    expect(first.code).toBe(0);
    const { queueUrl, subscriptionArn } = first.output as Record<string, string>;
    await emu.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'pending' }));

    const second = await run([...args, replicaId]);
    expect(second.code).toBe(0);
    expect(second.output).toEqual(first.output);
    expect(await queueDepth(emu, queueUrl ?? '')).toMatchObject({ visible: 1 });
    const subscriptions = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    expect(subscriptions.Subscriptions?.map((s) => s.SubscriptionArn)).toEqual([subscriptionArn]);
  });

  it('refuses to delete from a file naming no subscription (exit 2), which would leave the subscription behind', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-sqs-sync-replica-file-'));
    try {
      const { TopicArn = '' } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('topic') }));
      const created = await run(['replica-queue', 'create', '--topic-arn', TopicArn, '--prefix', 'url-only-']);
      const { queueUrl, queueName, subscriptionArn } = created.output as Record<string, string>;
      const urlOnly = join(dir, 'queue-url');
      await writeFile(urlOnly, `${queueUrl}\n`);

      const refused = await run(['replica-queue', 'delete', '--queue-url-file', urlOnly]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/names no subscription: give the JSON "replica-queue create" printed/);
      await expect(emu.sqs.send(new GetQueueUrlCommand({ QueueName: queueName }))).resolves.toBeDefined();

      const deleted = await run([
        'replica-queue',
        'delete',
        '--queue-url-file',
        urlOnly,
        '--subscription-arn',
        subscriptionArn ?? '',
      ]);
      expect(deleted).toMatchObject({ code: 0, output: { deleted: queueUrl, unsubscribed: subscriptionArn } });
      const after = await emu.sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
      expect(after.Subscriptions ?? []).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
