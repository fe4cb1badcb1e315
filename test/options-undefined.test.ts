import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  createReloadableStore,
  createS3Sync,
  decodeSyncMessage,
  downloadS3Object,
  JsonFileStore,
  parseS3Url,
  SqsListener,
} from '../src/index.ts';

// The repository compiles with exactOptionalPropertyTypes, as some users do: there, an optional
// option declared `x?: T` refuses a value typed `T | undefined`, which is what a caller holding an
// unset setting (`process.env.X`, a config field) passes. `npm run typecheck` fails if one does.
const unset = <T>(): T | undefined => undefined;

describe('optional options', () => {
  it('take an explicit undefined, typed and at run time, as if left out', async () => {
    const s3 = new S3Client({ region: 'us-east-1' });
    const sqs = new SQSClient({ region: 'us-east-1' });
    expect(parseS3Url('s3://bucket-name/key', { endpoints: unset() })).toMatchObject({ bucket: 'bucket-name' });
    expect(decodeSyncMessage('{"s3_uri":"s3://bucket-name/key"}', { maxBodyBytes: unset() })).toHaveLength(1);
    // Options accepted: the download gets as far as the signal, aborted before any request.
    await expect(
      downloadS3Object({
        client: s3,
        source: 's3://bucket-name/key',
        target: '/tmp/x',
        ifNoneMatch: unset(),
        maxBytes: unset(),
        signal: AbortSignal.abort(),
      }),
    ).rejects.toMatchObject({ code: 'ERR_ABORTED' });
    expect(
      new JsonFileStore({ path: '/tmp/x.json', maxBytes: unset(), validate: unset<(data: unknown) => number>() }).path,
    ).toBe('/tmp/x.json');
    expect(createReloadableStore({ load: async () => 1, readCandidate: unset() }).health().ready).toBe(false);
    const listener = new SqsListener({
      client: sqs,
      queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/q',
      handleMessage: async () => {},
      concurrency: unset(),
      waitTimeSeconds: unset(),
    });
    expect(listener.status).toBe('idle');
    const sync = createS3Sync({
      sqs: { client: sqs, queueUrl: 'https://sqs.us-east-1.amazonaws.com/111122223333/q', concurrency: unset() },
      s3: { client: s3 },
      target: '/tmp/x.json',
      source: 's3://bucket-name/key',
      reconcileIntervalMs: unset(),
      expectedBucketOwner: unset(),
    });
    expect(sync.state).toBe('idle');
    s3.destroy();
    sqs.destroy();
  });
});
