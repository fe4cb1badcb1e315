export type {
  ChecksumAlgorithmName,
  ChecksumInfo,
  DownloadedResult,
  DownloadOptions,
  DownloadResult,
  DownloadRetryOptions,
  NotModifiedResult,
  ObjectInfo,
  SweepTempFilesOptions,
} from './download.ts';
export { downloadS3Object, sweepTempFiles, TEMP_FILE_SUFFIX } from './download.ts';
export type {
  DownloadErrorOptions,
  ObjectErrorOptions,
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorOptions,
  S3UrlErrorOptions,
  TooLargeErrorOptions,
} from './errors.ts';
export {
  AbortedError,
  AccessDeniedError,
  ChecksumMismatchError,
  DownloadError,
  isS3SyncError,
  NotFoundError,
  PreconditionFailedError,
  S3_SYNC_ERROR_CODES,
  S3SyncError,
  S3UrlError,
  TooLargeError,
  VerifyFailedError,
} from './errors.ts';
export type { FormatS3UrlOptions, ParsedS3Url, S3Location, S3UrlStyle } from './s3-url.ts';
export { formatS3Url, isValidBucketName, parseS3Url, tryParseS3Url } from './s3-url.ts';
