export type { S3SyncErrorCode, S3SyncErrorOptions, S3UrlErrorOptions } from './errors.ts';
export { isS3SyncError, S3_SYNC_ERROR_CODES, S3SyncError, S3UrlError } from './errors.ts';
export type { FormatS3UrlOptions, ParsedS3Url, S3Location, S3UrlStyle } from './s3-url.ts';
export { formatS3Url, isValidBucketName, parseS3Url, tryParseS3Url } from './s3-url.ts';
