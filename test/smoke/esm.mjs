// Loads the built package the way an ESM user does: through its name and the `exports` map.
import assert from 'node:assert/strict';
import { isS3SyncError, S3UrlError } from 's3-sqs-sync';

assert.equal(isS3SyncError(new S3UrlError({ input: 'x', reason: 'y' })), true);
console.log('esm smoke: ok');
