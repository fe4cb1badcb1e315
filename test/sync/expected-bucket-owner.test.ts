import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { createS3Sync } from '../../src/sync/sync.ts';

const config = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const sqs = new SQSClient(config);
const s3 = new S3Client(config);
afterAll(() => {
  sqs.destroy();
  s3.destroy();
});

const make = (expectedBucketOwner: unknown) =>
  createS3Sync({
    sqs: { client: sqs, queueUrl: 'http://127.0.0.1:9/000000000000/q' },
    s3: { client: s3 },
    target: '/tmp/s3-sqs-sync-never-written.json',
    source: 's3://registry-prod/v0/registry.json',
    expectedBucketOwner: expectedBucketOwner as string,
  });

describe('createS3Sync', () => {
  describe('expectedBucketOwner', () => {
    it.each(['abc', '12345678901', '1234567890123', '', 123456789012])(
      'refuses %j when created, not on every update',
      (owner) => {
        expect(() => make(owner)).toThrow(TypeError);
        expect(() => make(owner)).toThrow(/`expectedBucketOwner` to be a 12-digit AWS account id/);
      },
    );

    it('takes a 12-digit account id', () => {
      expect(() => make('111122223333')).not.toThrow();
    });
  });
});
