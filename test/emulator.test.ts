import { readFile } from 'node:fs/promises';
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { CreateTopicCommand, PublishCommand, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './support/emulator.ts';
import { fixturePath } from './support/fixtures.ts';

describe('test harness: fauxqs emulator over HTTP', () => {
  let emu: Emulator;

  beforeAll(async () => {
    emu = await startEmulator();
  });

  afterAll(async () => {
    await emu.stop();
  });

  it('listens on loopback with an OS-assigned port', () => {
    expect(emu.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(emu.port).toBeGreaterThan(0);
  });

  it('stores and returns an S3 object byte for byte (real registry data)', async () => {
    const bucket = emu.uniqueName('harness');
    const body = await readFile(fixturePath('registry-v0-sample.json'));
    await emu.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    const put = await emu.s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'registry.json', Body: body, ContentType: 'application/json' }),
    );
    const got = await emu.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'registry.json' }));
    const bytes = await got.Body?.transformToByteArray();
    expect(Buffer.from(bytes ?? []).equals(body)).toBe(true);
    expect(got.ETag).toBe(put.ETag);
    expect(got.ContentLength).toBe(body.length);
  });

  it('wakes a long poll when a message arrives', async () => {
    const { QueueUrl } = await emu.sqs.send(new CreateQueueCommand({ QueueName: emu.uniqueName('harness') }));
    // The receive is in flight (waiting up to 10 s) before the message is sent.
    const receiving = emu.sqs.send(
      new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10, MaxNumberOfMessages: 10 }),
    );
    await emu.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: '{"s3_url":"s3://bucket-1/k"}' }));
    const started = Date.now();
    const { Messages } = await receiving;
    expect(Messages?.map((m) => m.Body)).toEqual(['{"s3_url":"s3://bucket-1/k"}']);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('delivers an SNS publish to a subscribed SQS queue in the SNS envelope', async () => {
    const { QueueUrl } = await emu.sqs.send(new CreateQueueCommand({ QueueName: emu.uniqueName('replica') }));
    const { Attributes } = await emu.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    const { TopicArn } = await emu.sns.send(new CreateTopicCommand({ Name: emu.uniqueName('changes') }));
    await emu.sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: Attributes?.QueueArn }));

    const event = JSON.stringify({ Records: [{ eventSource: 'aws:s3', s3: { object: { key: 'registry.json' } } }] });
    await emu.sns.send(new PublishCommand({ TopicArn, Message: event }));

    const { Messages } = await emu.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(Messages).toHaveLength(1);
    const envelope = JSON.parse(Messages?.[0]?.Body ?? '{}') as { Type?: string; Message?: string; TopicArn?: string };
    expect(envelope.Type).toBe('Notification');
    expect(envelope.TopicArn).toBe(TopicArn);
    expect(envelope.Message).toBe(event);
  });
});
