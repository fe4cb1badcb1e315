// Loads the built package the way a CommonJS user does: through its name and the `exports` map.
// `npm run test:smoke` runs it with --no-experimental-require-module too: the CommonJS build must
// load where `require()` of an ES module is not available (jest's loader, older Node 22 releases).
const assert = require('node:assert/strict');
const { readdirSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
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
// No `import()` left in the CommonJS files: jest's CommonJS loader cannot run one without
// --experimental-vm-modules (the optional SNS client is loaded that way).
const dist = dirname(require.resolve('s3-sqs-sync'));
for (const name of readdirSync(dist).filter((file) => file.endsWith('.cjs'))) {
  assert.doesNotMatch(readFileSync(join(dist, name), 'utf8'), /\bimport\(/, `${name} calls import()`);
}
console.log('cjs smoke: ok');
