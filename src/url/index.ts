/**
 * `s3-sqs-sync/url`: S3 URL parsing on its own. Loads no AWS SDK client: importing only this
 * costs a few milliseconds, where the main entry loads the S3 and SQS clients.
 */
export type {
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorJSON,
  S3SyncErrorOptions,
  S3UrlErrorOptions,
} from '../errors.ts';
export { isS3SyncError, S3_SYNC_ERROR_CODES, S3SyncError, S3UrlError } from '../errors.ts';
export type {
  FormatS3UrlOptions,
  ParsedS3Url,
  ParseS3UrlOptions,
  S3Endpoint,
  S3Location,
  S3UrlStyle,
} from './s3-url.ts';
export { formatS3Url, isValidBucketName, parseS3Url, tryParseS3Url } from './s3-url.ts';
