import { S3Client } from '@aws-sdk/client-s3';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOptions } from '../../src/download/options.ts';

const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
afterAll(() => client.destroy());

const check = (expectedBucketOwner: unknown) =>
  checkOptions({
    client,
    source: 's3://registry-prod/v0/registry.json',
    target: '/tmp/never-written.json',
    expectedBucketOwner: expectedBucketOwner as string,
  });

describe('checkOptions', () => {
  describe('expectedBucketOwner', () => {
    it.each(['abc', '12345678901', ' 111122223333', 111122223333])('refuses %j with a TypeError naming it', (owner) => {
      expect(() => check(owner)).toThrow(TypeError);
      expect(() => check(owner)).toThrow(/`expectedBucketOwner` to be a 12-digit AWS account id/);
    });

    it('takes a 12-digit account id', () => {
      expect(check('111122223333')).toMatchObject({ bucket: 'registry-prod', key: 'v0/registry.json' });
    });
  });
});
