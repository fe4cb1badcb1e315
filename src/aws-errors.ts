import {
  AccessDeniedError,
  ChecksumMismatchError,
  DownloadError,
  NotFoundError,
  type ObjectErrorOptions,
  PreconditionFailedError,
  S3SyncError,
} from './errors.ts';

/**
 * How AWS SDK and network failures map onto this package's errors: permanent ones become their
 * typed error at once; transient ones are wrapped in `Transient`, retried, and become
 * `ERR_DOWNLOAD` (or `ERR_CHECKSUM`) only when the retries run out. Internal.
 */

const TRANSIENT_ERROR_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_STREAM_PREMATURE_CLOSE',
  'UND_ERR_SOCKET',
]);

const TRANSIENT_ERROR_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'IdleTimeoutError',
]);

// Messages of failures the SDK raises as plain Errors while streaming a body.
const CHECKSUM_MISMATCH = /^Checksum mismatch/;
const CONNECTION_LOST = /Connection lost or stream closed|^aborted$|socket hang up/;

/** A failure worth another attempt, with the original error as `cause`. */
export class Transient extends Error {
  override readonly name = 'Transient';
  constructor(cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }

  /** The error to report once no attempt is left. */
  final(options: ObjectErrorOptions & { readonly attempts: number }): S3SyncError {
    const cause = this.cause;
    const message = this.message;
    if (cause instanceof Error && CHECKSUM_MISMATCH.test(cause.message)) {
      return new ChecksumMismatchError(`${message} (after ${options.attempts} attempts)`, { ...options, cause });
    }
    return new DownloadError(`Download failed after ${options.attempts} attempts: ${message}`, {
      ...options,
      cause,
    });
  }
}

export function isTransient(error: unknown): error is Transient {
  return error instanceof Transient;
}

interface SdkErrorShape {
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
  readonly $metadata?: { readonly httpStatusCode?: number };
  readonly $retryable?: unknown;
}

/** The HTTP status an SDK error carries, if any. */
export function httpStatusOf(error: unknown): number | undefined {
  return (error as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

/**
 * Maps a failure of one attempt to a typed permanent error, or to a `Transient` to retry.
 * Errors of this package pass through unchanged.
 */
export function classifyS3Error(error: unknown, context: ObjectErrorOptions, attempts: number): Error {
  if (error instanceof S3SyncError || error instanceof Transient) return error;
  const e = (typeof error === 'object' && error !== null ? error : {}) as SdkErrorShape;
  const status = httpStatusOf(error);
  const name = e.name ?? '';
  const options = { ...context, cause: error };

  if (
    status === 404 ||
    name === 'NoSuchKey' ||
    name === 'NoSuchVersion' ||
    name === 'NoSuchBucket' ||
    name === 'NotFound'
  ) {
    return new NotFoundError(`${context.bucket}/${context.key} does not exist (${name || status})`, options);
  }
  if (status === 403 || name === 'AccessDenied') {
    return new AccessDeniedError(`Access to ${context.bucket}/${context.key} denied (${name || status})`, options);
  }
  if (status === 412 || name === 'PreconditionFailed') {
    return new PreconditionFailedError(
      `${context.bucket}/${context.key} is no longer the version asked for (412 Precondition Failed)`,
      options,
    );
  }
  if (
    (status !== undefined && (status >= 500 || status === 429)) ||
    TRANSIENT_ERROR_NAMES.has(name) ||
    (e.code !== undefined && TRANSIENT_ERROR_CODES.has(e.code)) ||
    e.$retryable !== undefined ||
    CHECKSUM_MISMATCH.test(e.message ?? '') ||
    CONNECTION_LOST.test(e.message ?? '')
  ) {
    return new Transient(error);
  }
  const message = e.message ?? String(error);
  return new DownloadError(`Download of ${context.bucket}/${context.key} failed: ${message}`, { ...options, attempts });
}
