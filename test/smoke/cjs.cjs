// Loads the built package the way a CommonJS user does: through its name and the `exports` map.
const assert = require('node:assert/strict');
const { isS3SyncError, S3UrlError } = require('s3-sqs-sync');

assert.equal(isS3SyncError(new S3UrlError({ input: 'x', reason: 'y' })), true);
assert.equal(require.resolve('s3-sqs-sync').endsWith('index.cjs'), true);
console.log('cjs smoke: ok');
