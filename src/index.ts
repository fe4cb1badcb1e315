export type { S3SyncErrorCode, S3SyncErrorOptions, S3UrlErrorOptions } from './errors.js';
export { isS3SyncError, S3_SYNC_ERROR_CODES, S3SyncError, S3UrlError } from './errors.js';
