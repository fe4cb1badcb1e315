// Loads the built package the way an ESM user does: through its name and the `exports` map.
import assert from 'node:assert/strict';
import { isS3SyncError, parseS3Url, S3UrlError } from 's3-sqs-sync';

assert.deepEqual(parseS3Url('https://my-bucket.s3.eu-west-1.amazonaws.com/registry.json'), {
  bucket: 'my-bucket',
  key: 'registry.json',
  region: 'eu-west-1',
  style: 'virtual-hosted',
});
assert.throws(
  () => parseS3Url('https://s3.amazonaws.com.evil.com/b/k'),
  (error) => {
    return error instanceof S3UrlError && isS3SyncError(error) && error.code === 'ERR_S3_URL';
  },
);
console.log('esm smoke: ok');
