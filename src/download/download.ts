import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  GetObjectCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import pRetry from 'p-retry';
import { classifyS3Error, httpStatusOf, isTransient, Transient } from '../aws-errors.ts';
import {
  AbortedError,
  DownloadError,
  type ObjectErrorOptions,
  PreconditionFailedError,
  TooLargeError,
  VerifyFailedError,
} from '../errors.ts';
import { parseS3Url, type S3Location } from '../url/s3-url.ts';
import { checkOptionalInteger, checkOptionalPositive, checkOptionalString } from '../validate.ts';
import { type ChecksumInfo, checksumOf } from './checksums.ts';
import { fsyncDirectory, removeQuietly, tempPathFor } from './temp-files.ts';

export type { ChecksumAlgorithmName, ChecksumInfo } from './checksums.ts';
export type { SweepTempFilesOptions } from './temp-files.ts';
export { sweepTempFiles, TEMP_FILE_SUFFIX } from './temp-files.ts';

/** Retry policy for transient failures. Delays grow exponentially with jitter, up to the cap. */
export interface DownloadRetryOptions {
  /**
   * Retries after the first attempt.
   * @defaultValue 3
   */
  readonly retries?: number;
  /**
   * Delay before the first retry, before jitter (which multiplies it by 1 to 2).
   * @defaultValue 200
   */
  readonly minDelayMs?: number;
  /**
   * Longest delay between two attempts.
   * @defaultValue 5000
   */
  readonly maxDelayMs?: number;
}

/** What S3 said about the object being downloaded; passed to `verify`. */
export interface ObjectInfo {
  readonly bucket: string;
  readonly key: string;
  readonly etag: string;
  readonly versionId?: string;
  /** Bytes written to the temp file (always equal to Content-Length when S3 sent one). */
  readonly bytes: number;
  readonly lastModified?: Date;
  readonly contentType?: string;
  /** Stored as sent: `gzip` bytes are written as they are, not inflated. */
  readonly contentEncoding?: string;
  readonly checksum?: ChecksumInfo;
}

/** Options for {@link downloadS3Object}. */
export interface DownloadOptions<V = unknown> {
  /** The S3 client to use. Its own retry settings apply to each attempt too. */
  readonly client: S3Client;
  /** An S3 URL (any form {@link parseS3Url} accepts) or a location. */
  readonly source: string | S3Location;
  /** The file to replace. Its directory must exist; the temp file is written beside it. */
  readonly target: string;
  /** The ETag you already have: an unchanged object gives `{ status: 'not-modified' }` (HTTP 304). */
  readonly ifNoneMatch?: string;
  /** Download only this exact version (by ETag); a replaced object fails with `ERR_PRECONDITION` (412). */
  readonly ifMatch?: string;
  /** Download this version id. A `versionId` in the source URL counts the same; the two must agree. */
  readonly versionId?: string;
  /** Refuse objects larger than this (`ERR_TOO_LARGE`), before writing when Content-Length says so. */
  readonly maxBytes?: number;
  /**
   * Runs on the complete temp file before it replaces the target; a throw (or rejection) aborts
   * the download with `ERR_VERIFY_FAILED` and leaves the target untouched. Its return value is
   * reported as `verified`.
   */
  readonly verify?: (tempPath: string, info: ObjectInfo) => V | Promise<V>;
  /** Aborts the download (`ERR_ABORTED`, with `signal.reason` as the cause). */
  readonly signal?: AbortSignal;
  /**
   * Retries for transient failures (5xx, throttling, resets, a body cut or stalled mid-stream),
   * or `false` for none.
   * @defaultValue `{ retries: 3, minDelayMs: 200, maxDelayMs: 5000 }`
   */
  readonly retry?: DownloadRetryOptions | false;
  /**
   * An attempt that receives no bytes (or no response) for this long is abandoned and retried.
   * @defaultValue 30000
   */
  readonly idleTimeoutMs?: number;
  /** Called as bytes arrive, with the total when S3 sent a Content-Length. */
  readonly onProgress?: (progress: { readonly bytes: number; readonly total?: number }) => void;
  /**
   * fsync the file before the rename and the directory after it, so the new content survives a
   * power loss. Turn off only for scratch data.
   * @defaultValue true
   */
  readonly fsync?: boolean;
  /**
   * Permissions of the new file (before the process umask).
   * @defaultValue 0o666
   */
  readonly mode?: number;
}

/** The object was written to `path`. */
export interface DownloadedResult<V = unknown> extends ObjectInfo {
  readonly status: 'downloaded';
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
const DEFAULT_MODE = 0o666;
// Fewer, larger writes than the 16 KiB default (S3 bodies arrive in 16-64 KiB chunks); 256 KiB
// measured fastest at 512 MiB without raising peak RSS (npm run bench -- download).
const WRITE_CHUNK_BYTES = 256 * 1024;

function resolveSource(options: DownloadOptions<unknown>): S3Location {
  const { source } = options;
  const location = typeof source === 'string' ? parseS3Url(source) : source;
  if (typeof location?.bucket !== 'string' || typeof location.key !== 'string' || location.key === '') {
    throw new TypeError('Expected `source` to be an S3 URL or an S3Location with a bucket and a key');
  }
  if (options.versionId !== undefined && location.versionId !== undefined && options.versionId !== location.versionId) {
    throw new TypeError(
      `\`versionId\` "${options.versionId}" conflicts with the source's versionId "${location.versionId}"`,
    );
  }
  return location;
}

interface Pin {
  etag?: string;
  versionId?: string;
}

/**
 * Streams one S3 object to `target` so that `target` is always either the old complete file or
 * the new complete, verified file, never anything in between:
 *
 * 1. the body streams (with backpressure; memory stays flat) into a uniquely named temp file
 *    beside the target, which is fsynced as it closes; the SDK validates any full-object
 *    checksum S3 sent as the bytes pass;
 * 2. the byte count is checked against Content-Length;
 * 3. `verify(tempPath, info)` runs;
 * 4. the file is renamed over the target, and the directory fsynced.
 *
 * On any failure or abort the temp file is removed and the target is untouched. Transient
 * failures are retried (bounded, with backoff); a retry asks for the exact version the first
 * response carried, so one file never mixes two versions of an object.
 *
 * @throws {S3SyncError} `ERR_NOT_FOUND`, `ERR_ACCESS_DENIED`, `ERR_PRECONDITION`, `ERR_TOO_LARGE`,
 * `ERR_VERIFY_FAILED`, `ERR_CHECKSUM`, `ERR_ABORTED`, `ERR_DOWNLOAD` (see docs/download.md), or
 * an `S3UrlError` for a bad source URL; `TypeError`/`RangeError` for invalid options.
 */
export async function downloadS3Object<V = unknown>(options: DownloadOptions<V>): Promise<DownloadResult<V>> {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected an options object');
  if (typeof options.client?.send !== 'function') throw new TypeError('Expected `client` to be an S3Client');
  if (typeof options.target !== 'string' || options.target === '') {
    throw new TypeError(`Expected \`target\` to be a file path, received ${String(options.target)}`);
  }
  checkOptionalString('ifNoneMatch', options.ifNoneMatch);
  checkOptionalString('ifMatch', options.ifMatch);
  checkOptionalString('versionId', options.versionId);
  checkOptionalPositive('maxBytes', options.maxBytes, true);
  checkOptionalPositive('idleTimeoutMs', options.idleTimeoutMs, false);
  if (options.verify !== undefined && typeof options.verify !== 'function') {
    throw new TypeError('Expected `verify` to be a function');
  }
  const retry = options.retry === false ? { retries: 0 } : (options.retry ?? {});
  checkOptionalPositive('retry.minDelayMs', retry.minDelayMs, false);
  checkOptionalPositive('retry.maxDelayMs', retry.maxDelayMs, false);
  checkOptionalInteger('retry.retries', retry.retries, 0);

  const location = resolveSource(options);
  const context: ObjectErrorOptions = { bucket: location.bucket, key: location.key, path: options.target };
  const { signal } = options;
  const aborted = (): AbortedError => new AbortedError('Download aborted', { ...context, cause: signal?.reason });
  if (signal?.aborted) throw aborted();

  const callerPinned = options.ifMatch !== undefined || (options.versionId ?? location.versionId) !== undefined;
  const pin: Pin = {};
  if (options.ifMatch !== undefined) pin.etag = options.ifMatch;
  const versionId = options.versionId ?? location.versionId;
  if (versionId !== undefined) pin.versionId = versionId;

  let attempts = 0;
  try {
    return await pRetry(
      async () => {
        attempts++;
        try {
          return await attemptDownload(options, location, pin, context, attempts);
        } catch (error) {
          if (error instanceof PreconditionFailedError && !callerPinned && pin.etag !== undefined) {
            // The object changed between two of our own attempts: start over on the new version.
            delete pin.etag;
            delete pin.versionId;
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
    if (signal?.aborted) throw aborted();
    if (error instanceof Transient) {
      throw error.final({ ...context, attempts });
    }
    throw error;
  }
}

async function attemptDownload<V>(
  options: DownloadOptions<V>,
  location: S3Location,
  pin: Pin,
  context: ObjectErrorOptions,
  attempt: number,
): Promise<DownloadResult<V>> {
  const { client, target, signal, maxBytes, onProgress } = options;
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const controller = new AbortController();
  const forwardAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forwardAbort, { once: true });
  let idle: NodeJS.Timeout | undefined;
  const armIdle = (): void => {
    clearTimeout(idle);
    idle = setTimeout(() => controller.abort(new IdleTimeoutError(idleTimeoutMs)), idleTimeoutMs);
    idle.unref();
  };
  let tempPath: string | undefined;

  try {
    armIdle();
    const input: GetObjectCommandInput = {
      Bucket: location.bucket,
      Key: location.key,
      ChecksumMode: 'ENABLED',
      ...(pin.versionId === undefined ? {} : { VersionId: pin.versionId }),
      ...(pin.etag === undefined ? {} : { IfMatch: pin.etag }),
      ...(options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
    };
    let output: GetObjectCommandOutput;
    try {
      output = await client.send(new GetObjectCommand(input), { abortSignal: controller.signal });
    } catch (error) {
      const status = httpStatusOf(error);
      // The JS SDK reports 304 as an error (named "NotModified" or "304"); it is a result here.
      if (status === 304 && options.ifNoneMatch !== undefined) {
        return { status: 'not-modified', etag: options.ifNoneMatch };
      }
      throw classifyS3Error(controller.signal.reason ?? error, context, attempt);
    }

    const body = output.Body;
    if (!(body instanceof Readable)) {
      throw new DownloadError('GetObject returned a body that is not a Node.js stream', {
        ...context,
        attempts: attempt,
      });
    }
    const total = typeof output.ContentLength === 'number' ? output.ContentLength : undefined;
    if (maxBytes !== undefined && total !== undefined && total > maxBytes) {
      body.destroy();
      throw new TooLargeError(`Object is ${total} bytes, over maxBytes ${maxBytes}`, {
        ...context,
        maxBytes,
        bytes: total,
      });
    }
    const etag = typeof output.ETag === 'string' ? output.ETag : '';
    const versionId = typeof output.VersionId === 'string' ? output.VersionId : undefined;
    // Pin every later attempt to this exact object, so a retry cannot splice two versions.
    if (etag !== '') pin.etag = etag;
    if (versionId !== undefined) pin.versionId = versionId;

    tempPath = tempPathFor(target);
    // 'wx': never reuse a file; flush: fsync before the stream closes, so the new content is on
    // disk before it can replace the target.
    const file = createWriteStream(tempPath, {
      flags: 'wx',
      mode: options.mode ?? DEFAULT_MODE,
      flush: options.fsync !== false,
      highWaterMark: WRITE_CHUNK_BYTES,
    });
    let bytes = 0;
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        armIdle();
        if (maxBytes !== undefined && bytes > maxBytes) {
          callback(new TooLargeError(`Object exceeds maxBytes ${maxBytes}`, { ...context, maxBytes, bytes }));
          return;
        }
        onProgress?.(total === undefined ? { bytes } : { bytes, total });
        callback(null, chunk);
      },
    });
    try {
      await pipeline(body, counter, file, { signal: controller.signal });
    } catch (error) {
      throw classifyS3Error(controller.signal.reason ?? error, context, attempt);
    }
    clearTimeout(idle);
    if (total !== undefined && bytes !== total) {
      throw new Transient(new Error(`Body ended after ${bytes} of ${total} bytes`));
    }

    const checksum = checksumOf(output as unknown as Readonly<Record<string, unknown>>, body);
    const info: ObjectInfo = {
      bucket: location.bucket,
      key: location.key,
      etag,
      bytes,
      ...(versionId === undefined ? {} : { versionId }),
      ...(output.LastModified instanceof Date ? { lastModified: output.LastModified } : {}),
      ...(typeof output.ContentType === 'string' ? { contentType: output.ContentType } : {}),
      ...(typeof output.ContentEncoding === 'string' ? { contentEncoding: output.ContentEncoding } : {}),
      ...(checksum === undefined ? {} : { checksum }),
    };

    let verified: V | undefined;
    if (options.verify !== undefined) {
      try {
        verified = await options.verify(tempPath, info);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new VerifyFailedError(`verify rejected the download: ${reason}`, { ...context, cause: error });
      }
    }
    if (signal?.aborted) throw signal.reason;

    await rename(tempPath, target);
    tempPath = undefined;
    if (options.fsync !== false) await fsyncDirectory(dirname(target));

    return {
      status: 'downloaded',
      path: target,
      attempts: attempt,
      ...info,
      ...(options.verify === undefined ? {} : { verified: verified as V }),
    };
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener('abort', forwardAbort);
    if (tempPath !== undefined) await removeQuietly(tempPath);
  }
}

/** An attempt saw no bytes (or no response) for `idleTimeoutMs`. Retried. */
class IdleTimeoutError extends Error {
  override readonly name = 'IdleTimeoutError';
  constructor(ms: number) {
    super(`No data for ${ms} ms`);
  }
}
