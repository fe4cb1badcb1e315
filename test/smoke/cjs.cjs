// Loads the built package the way a CommonJS user does: through its name and the `exports` map.
const assert = require('node:assert/strict');
const { isS3SyncError, parseS3Url, S3UrlError } = require('s3-sqs-sync');
const { registry, storeContract, tempSource, validateRegistry } = require('s3-sqs-sync/testing');

assert.deepEqual(parseS3Url('s3://my-bucket/registry.json?versionId=v1'), {
  bucket: 'my-bucket',
  key: 'registry.json',
  versionId: 'v1',
  style: 's3',
});
assert.throws(
  () => parseS3Url('s3://My_Bucket/k'),
  (error) => {
    return error instanceof S3UrlError && isS3SyncError(error) && error.code === 'ERR_S3_URL';
  },
);
assert.equal(require.resolve('s3-sqs-sync').endsWith('index.cjs'), true);
// The testing subpath: its own entry, loaded without any test runner.
assert.equal(typeof storeContract, 'function');
assert.equal(typeof tempSource, 'function');
assert.equal(validateRegistry(JSON.parse(registry(2))).n, 2);
assert.equal(require.resolve('s3-sqs-sync/testing').endsWith('testing.cjs'), true);
// The metrics subpath.
assert.equal(typeof require('s3-sqs-sync/metrics').instrument, 'function');
assert.equal(require.resolve('s3-sqs-sync/metrics').endsWith('metrics.cjs'), true);
console.log('cjs smoke: ok');
