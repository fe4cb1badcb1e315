export type { S3SyncErrorCode, S3SyncErrorOptions, S3UrlErrorOptions } from './errors.js';
export { isS3SyncError, S3_SYNC_ERROR_CODES, S3SyncError, S3UrlError } from './errors.js';
export type { FormatS3UrlOptions, ParsedS3Url, S3Location, S3UrlStyle } from './s3-url.js';
export { formatS3Url, isValidBucketName, parseS3Url, tryParseS3Url } from './s3-url.js';
