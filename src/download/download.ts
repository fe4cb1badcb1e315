import pRetry from 'p-retry';
import { isTransient, Transient } from '../aws-errors.ts';
import { AbortedError, type ObjectErrorOptions, PreconditionFailedError } from '../errors.ts';
import { type AttemptResult, attemptDownload, type DownloadPlan, type Pin } from './attempt.ts';
import { checkOptions, type DownloadOptions, type ObjectInfo } from './options.ts';
import { inTargetOrder } from './queue.ts';
import { resolveTarget } from './target.ts';

export type { ChecksumAlgorithmName, ChecksumInfo } from './checksums.ts';
export type {
  DownloadOptions,
  DownloadRetryOptions,
  DownloadVerifyContext,
  GetObjectPassThroughInput,
  ObjectInfo,
} from './options.ts';
export type { SweepTempFilesOptions } from './temp-files.ts';
export { sweepTempFiles, TEMP_FILE_SUFFIX } from './temp-files.ts';

/** The object was written to `path`. */
export interface DownloadedResult<V = unknown> extends ObjectInfo {
  readonly status: 'downloaded';
  /** The target, as given (when it is a symlink, the file it names was replaced). */
  readonly path: string;
  /** Number of attempts it took (1 when nothing was retried). */
  readonly attempts: number;
  /** What `verify` returned. */
  readonly verified?: V;
}

/** S3 answered 304: the object still has the ETag given as `ifNoneMatch`. Nothing was written. */
export interface NotModifiedResult {
  readonly status: 'not-modified';
  readonly etag: string;
}

/** The result of {@link downloadS3Object}. */
export type DownloadResult<V = unknown> = DownloadedResult<V> | NotModifiedResult;

const DEFAULT_RETRIES = 3;
const DEFAULT_MIN_DELAY_MS = 200;
const DEFAULT_MAX_DELAY_MS = 5_000;
const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

/**
 * Streams one S3 object to `target` so that `target` is always either the old complete file or
 * the new complete, verified file, never anything in between:
 *
 * 1. the target is resolved (symlinks followed) and its directory checked, before any request;
 * 2. the body streams (with backpressure; memory stays flat) into a uniquely named temp file
 *    beside the file to replace, which takes that file's mode and owner and is fsynced as it
 *    closes; the SDK validates any full-object checksum S3 sent as the bytes pass;
 * 3. the byte count is checked against Content-Length;
 * 4. `verify(tempPath, info, { signal })` runs;
 * 5. the file is renamed over the target, and the directory fsynced.
 *
 * On any failure, or an abort before the rename, the temp file is removed and the target is
 * untouched. Transient failures are retried (bounded, with backoff); a retry asks with
 * `If-Match` for the object the first response carried, so one file never mixes two versions of
 * an object. Downloads to one target in one process run one at a time, in call order.
 *
 * @throws {S3SyncError} `ERR_NOT_FOUND`, `ERR_ACCESS_DENIED`, `ERR_PRECONDITION`, `ERR_TOO_LARGE`,
 * `ERR_VERIFY_FAILED`, `ERR_CHECKSUM`, `ERR_ABORTED`, `ERR_FILE_SYSTEM`, `ERR_DOWNLOAD` (see
 * docs/download.md), or an `S3UrlError` for a bad source URL; `TypeError`/`RangeError` for
 * invalid options.
 */
export async function downloadS3Object<V = unknown>(options: DownloadOptions<V>): Promise<DownloadResult<V>> {
  const location = checkOptions(options);
  const versionId = options.versionId ?? location.versionId;
  const context: ObjectErrorOptions = {
    bucket: location.bucket,
    key: location.key,
    path: options.target,
    ...(versionId === undefined ? {} : { versionId }),
  };
  const { signal } = options;
  const aborted = (): AbortedError => new AbortedError('Download aborted', { ...context, cause: signal?.reason });
  if (signal?.aborted) throw aborted();

  const waitTurn = (previous: Promise<void>): Promise<void> =>
    new Promise((resolve, reject) => {
      const onAbort = (): void => reject(aborted());
      signal?.addEventListener('abort', onAbort, { once: true });
      void previous.then(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
    });

  return inTargetOrder(options.target, waitTurn, async () => {
    if (signal?.aborted) throw aborted();
    const target = await resolveTarget(options.target, context);
    const idle = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    const pin: Pin = {
      ...(options.ifMatch === undefined ? {} : { etag: options.ifMatch }),
      ...(versionId === undefined ? {} : { versionId }),
    };
    const plan: DownloadPlan<V> = {
      options,
      location,
      target,
      pin,
      context,
      idleTimeoutMs: idle === false || idle === Number.POSITIVE_INFINITY ? undefined : idle,
    };
    return retrying(plan, aborted);
  });
}

async function retrying<V>(plan: DownloadPlan<V>, aborted: () => AbortedError): Promise<DownloadResult<V>> {
  const { options, pin, context } = plan;
  const { signal } = options;
  const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
  const callerPinned = options.ifMatch !== undefined || pin.versionId !== undefined;
  let attempts = 0;
  // Set once an attempt has renamed the file over the target: from then on it is the result,
  // whatever the signal does (p-retry checks the signal again after a successful attempt).
  let done: AttemptResult<V> | undefined;
  const finish = (result: AttemptResult<V>): DownloadResult<V> =>
    result.status === 'not-modified' ? result : { ...result, path: options.target, attempts };
  try {
    await pRetry(
      async () => {
        attempts++;
        try {
          done = await attemptDownload(plan, attempts);
        } catch (error) {
          if (error instanceof PreconditionFailedError && !callerPinned && pin.etag !== undefined) {
            // The object changed between two of our own attempts: start over on the new version.
            delete pin.etag;
            throw new Transient(error);
          }
          throw error;
        }
      },
      {
        retries: retry.retries ?? DEFAULT_RETRIES,
        minTimeout: retry.minDelayMs ?? DEFAULT_MIN_DELAY_MS,
        maxTimeout: retry.maxDelayMs ?? DEFAULT_MAX_DELAY_MS,
        factor: 2,
        randomize: true,
        shouldRetry: ({ error }) => isTransient(error) && !signal?.aborted,
        ...(signal === undefined ? {} : { signal }),
      },
    );
  } catch (error) {
    if (done !== undefined) return finish(done);
    if (signal?.aborted) throw aborted();
    if (error instanceof Transient) {
      const seen = {
        ...(pin.etag === undefined ? {} : { etag: pin.etag }),
        ...(pin.responseVersionId === undefined ? {} : { versionId: pin.responseVersionId }),
      };
      throw error.final({ ...context, ...seen, attempts });
    }
    throw error;
  }
  if (done === undefined) throw new Error('unreachable: an attempt resolved without a result');
  return finish(done);
}
