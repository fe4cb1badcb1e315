/**
 * `s3-sqs-sync/download`: `downloadS3Object` on its own. Loads the S3 client, not the SQS one.
 */
export type {
  DownloadErrorOptions,
  FileSystemErrorOptions,
  ObjectErrorOptions,
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorJSON,
  S3SyncErrorOptions,
  S3UrlErrorOptions,
  TooLargeErrorOptions,
} from '../errors.ts';
export {
  AbortedError,
  AccessDeniedError,
  ChecksumMismatchError,
  DownloadError,
  FileSystemError,
  isS3SyncError,
  NotFoundError,
  PreconditionFailedError,
  S3_SYNC_ERROR_CODES,
  S3SyncError,
  S3UrlError,
  TooLargeError,
  VerifyFailedError,
} from '../errors.ts';
export type {
  ChecksumAlgorithmName,
  ChecksumInfo,
  DownloadedResult,
  DownloadOptions,
  DownloadResult,
  DownloadRetryOptions,
  DownloadVerifyContext,
  GetObjectPassThroughInput,
  NotModifiedResult,
  ObjectInfo,
  SweepTempFilesOptions,
} from './download.ts';
export { downloadS3Object, sweepTempFiles, TEMP_FILE_SUFFIX } from './download.ts';
