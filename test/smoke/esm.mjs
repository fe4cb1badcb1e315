// Loads the built package the way an ESM user does: through its name and the `exports` map.
import assert from 'node:assert/strict';
import { isS3SyncError, parseS3Url, S3UrlError } from 's3-sqs-sync';
import { instrument } from 's3-sqs-sync/metrics';
import { registry, storeContract, tempSource, validateRegistry } from 's3-sqs-sync/testing';

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
// The testing subpath: its own entry, loaded without any test runner.
assert.equal(typeof storeContract, 'function');
assert.equal(typeof tempSource, 'function');
assert.deepEqual(validateRegistry(JSON.parse(registry(2))).n, 2);
assert.equal(import.meta.resolve('s3-sqs-sync/testing').endsWith('/dist/testing.js'), true);
// The metrics subpath: its own entry, loaded without OpenTelemetry.
assert.equal(typeof instrument, 'function');
console.log('esm smoke: ok');
