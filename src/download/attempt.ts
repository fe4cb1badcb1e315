import { type FileHandle, open, rename } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Readable, Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { GetObjectCommand, type GetObjectCommandInput, type GetObjectCommandOutput } from '@aws-sdk/client-s3';
import { classifyS3Error, httpStatusOf, Transient } from '../aws-errors.ts';
import {
  DownloadError,
  fileSystemError,
  type ObjectErrorOptions,
  TooLargeError,
  VerifyFailedError,
} from '../errors.ts';
import type { S3Location } from '../url/s3-url.ts';
import { checksumOf } from './checksums.ts';
import type { DownloadOptions, ObjectInfo } from './options.ts';
import { matchExisting, type ResolvedTarget } from './target.ts';
import { claimTempPath, fsyncDirectory, releaseTempPath, removeQuietly } from './temp-files.ts';

/** The object this download keeps to across attempts. */
export interface Pin {
  /** Sent as If-Match: the caller's `ifMatch`, or the first response's ETag. */
  etag?: string;
  /** Sent as VersionId: only ever the caller's (it needs `s3:GetObjectVersion`). */
  readonly versionId?: string;
  /** The version id the last response carried: reported in errors, never sent. */
  responseVersionId?: string;
}

/** What every attempt of one download shares, resolved once. */
export interface DownloadPlan<V> {
  readonly options: DownloadOptions<V>;
  readonly location: S3Location;
  readonly target: ResolvedTarget;
  readonly pin: Pin;
  /** bucket, key, path (the caller's target) and the caller's versionId. */
  readonly context: ObjectErrorOptions;
  /** `undefined`: no idle timeout. */
  readonly idleTimeoutMs: number | undefined;
}

/** The result of one attempt that wrote the target, or found it current. */
export type AttemptResult<V> =
  | (ObjectInfo & { readonly status: 'downloaded'; readonly verified?: V })
  | { readonly status: 'not-modified'; readonly etag: string };

const DEFAULT_NEW_FILE_MODE = 0o666;
// The temp file of a target that exists is created owner-only and given the target's mode once
// it holds the data, so a 0600 secret is never readable by others, not even briefly.
const PRIVATE_MODE = 0o600;
// Fewer, larger writes than the 16 KiB default (S3 bodies arrive in 16-64 KiB chunks); 256 KiB
// measured fastest at 512 MiB without raising peak RSS (npm run bench -- download).
const WRITE_CHUNK_BYTES = 256 * 1024;

/** One GET of the object into a temp file, checked, verified and renamed over the target. */
export async function attemptDownload<V>(plan: DownloadPlan<V>, attempt: number): Promise<AttemptResult<V>> {
  const { options, location, target, pin, idleTimeoutMs } = plan;
  const { client, signal, maxBytes, onProgress } = options;
  const fsync = options.fsync !== false;
  let context = plan.context;
  const fsFailure = (error: unknown, message: string): unknown => fileSystemError(error, message, context) ?? error;

  const controller = new AbortController();
  const forwardAbort = (): void => controller.abort(signal?.reason);
  signal?.addEventListener('abort', forwardAbort, { once: true });

  // Only the network is timed: the wait for a response and for each next chunk of the body. The
  // clock stops while the disk holds the body back and for good once the body has ended, so a
  // slow write or fsync is never taken for a stalled connection.
  let idle: NodeJS.Timeout | undefined;
  let file: Writable | undefined;
  let bodyEnded = false;
  const armIdle = (): void => {
    clearTimeout(idle);
    if (idleTimeoutMs === undefined || bodyEnded) return;
    idle = setTimeout(() => {
      if (file !== undefined && file.writableLength > 0) armIdle();
      else controller.abort(new IdleTimeoutError(idleTimeoutMs));
    }, idleTimeoutMs);
    idle.unref();
  };

  let body: Readable | undefined;
  let piped = false;
  let handle: FileHandle | undefined;
  let tempPath: string | undefined;
  try {
    armIdle();
    const input: GetObjectCommandInput = {
      ChecksumMode: 'ENABLED',
      ...options.getObjectInput,
      Bucket: location.bucket,
      Key: location.key,
      ...(pin.versionId === undefined ? {} : { VersionId: pin.versionId }),
      ...(pin.etag === undefined ? {} : { IfMatch: pin.etag }),
      ...(options.ifNoneMatch === undefined ? {} : { IfNoneMatch: options.ifNoneMatch }),
      ...(options.expectedBucketOwner === undefined ? {} : { ExpectedBucketOwner: options.expectedBucketOwner }),
    };
    let output: GetObjectCommandOutput;
    try {
      output = await client.send(new GetObjectCommand(input), { abortSignal: controller.signal });
    } catch (error) {
      // The JS SDK reports 304 as an error (named "NotModified" or "304"); it is a result here.
      if (httpStatusOf(error) === 304 && options.ifNoneMatch !== undefined) {
        return { status: 'not-modified', etag: options.ifNoneMatch };
      }
      throw classifyS3Error(controller.signal.reason ?? error, context, attempt);
    }
    // Not timed again until the body is read: creating the temp file is the disk's time.
    clearTimeout(idle);

    const etag = typeof output.ETag === 'string' ? output.ETag : '';
    const versionId = typeof output.VersionId === 'string' ? output.VersionId : undefined;
    context = { ...context, ...(etag === '' ? {} : { etag }), ...(versionId === undefined ? {} : { versionId }) };
    body = toNodeReadable(output.Body);
    if (body === undefined) {
      discard(output.Body);
      throw new DownloadError('GetObject returned a body that is neither a Node.js nor a web stream', {
        ...context,
        attempts: attempt,
      });
    }
    // The temp file is opened before the body is piped: an error the body raises meanwhile (a
    // connection cut) must not go unheard. The pipeline reports it, from `body.errored`.
    body.on('error', ignore);
    // Keep every later attempt to this exact object, so a retry cannot splice two versions. By
    // ETag, not version id: GetObject with a VersionId needs s3:GetObjectVersion as well.
    if (pin.etag === undefined && etag !== '') pin.etag = etag;
    if (versionId !== undefined) pin.responseVersionId = versionId;
    const total = typeof output.ContentLength === 'number' ? output.ContentLength : undefined;
    if (maxBytes !== undefined && total !== undefined && total > maxBytes) {
      throw new TooLargeError(`Object is ${total} bytes, over maxBytes ${maxBytes}`, {
        ...context,
        maxBytes,
        bytes: total,
      });
    }

    tempPath = claimTempPath(target.path);
    const mode = target.existing === undefined ? (options.mode ?? DEFAULT_NEW_FILE_MODE) : PRIVATE_MODE;
    try {
      // 'wx': never reuse a file.
      handle = await open(tempPath, 'wx', mode);
      if (target.existing !== undefined) await matchExisting(handle, target.existing);
    } catch (error) {
      throw fsFailure(error, `Cannot create a temp file beside ${target.path}`);
    }
    // The stream owns the handle from here: it closes it, after an fsync (flush) when asked.
    const stream = handle.createWriteStream({ flush: fsync, highWaterMark: WRITE_CHUNK_BYTES });
    handle = undefined;
    file = stream;
    // The disk has caught up: the network gets a whole idleTimeoutMs from here.
    stream.on('drain', armIdle);

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
      flush(callback) {
        bodyEnded = true;
        clearTimeout(idle);
        callback();
      },
    });
    piped = true;
    armIdle();
    try {
      await pipeline(body, counter, stream, { signal: controller.signal });
    } catch (error) {
      if (isFileFailure(error) && !controller.signal.aborted) {
        throw fsFailure(error, `Cannot write the temp file for ${target.path}`);
      }
      throw classifyS3Error(controller.signal.reason ?? error, context, attempt);
    }
    if (total !== undefined && bytes !== total) {
      throw new Transient(new Error(`Body ended after ${bytes} of ${total} bytes`));
    }

    const checksum = checksumOf(output as unknown as Readonly<Record<string, unknown>>, output.Body);
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
        verified = await options.verify(tempPath, info, { signal: controller.signal });
      } catch (error) {
        throw verifyFailed(error, tempPath, options.target, context);
      }
    }
    // The last moment an abort can win: once the rename has happened, the download succeeded.
    if (signal?.aborted) throw signal.reason;
    try {
      await rename(tempPath, target.path);
    } catch (error) {
      const gone = (error as NodeJS.ErrnoException).code === 'ENOENT';
      throw fsFailure(
        error,
        gone
          ? `Cannot replace ${target.path}: its temp file ${tempPath} was removed while the download ran`
          : `Cannot rename the temp file ${tempPath} over ${target.path}`,
      );
    }
    releaseTempPath(tempPath);
    tempPath = undefined;
    if (fsync) {
      try {
        await fsyncDirectory(dirname(target.path));
      } catch (error) {
        throw fsFailure(error, `${target.path} was replaced, but fsync of its directory failed`);
      }
    }
    return { status: 'downloaded', ...info, ...(options.verify === undefined ? {} : { verified: verified as V }) };
  } finally {
    clearTimeout(idle);
    signal?.removeEventListener('abort', forwardAbort);
    // Frees the connection of a body refused before it was piped (pipeline destroys the others).
    if (body !== undefined && !piped) body.destroy();
    await handle?.close().catch(() => undefined);
    if (tempPath !== undefined) {
      await removeQuietly(tempPath);
      releaseTempPath(tempPath);
    }
  }
}

// A pipeline hands the first error to every stream in it, so the stream an error arrives on does
// not say where it came from; the failed call does. (Reading a response makes no socket writes.)
const FILE_SYSCALLS = new Set(['open', 'write', 'writev', 'fsync', 'close']);

function isFileFailure(error: unknown): boolean {
  return FILE_SYSCALLS.has(String((error as NodeJS.ErrnoException | null)?.syscall));
}

function ignore(): void {}

function isWebReadableStream(value: unknown): value is WebReadableStream {
  return typeof (value as { getReader?: unknown } | null)?.getReader === 'function';
}

// The SDK's default (Node) handler returns a Node stream; FetchHttpHandler returns a web stream.
function toNodeReadable(body: unknown): Readable | undefined {
  if (body instanceof Readable) return body;
  if (isWebReadableStream(body)) return Readable.fromWeb(body);
  return undefined;
}

/** Releases a body this function cannot read, so its connection is not left open. */
function discard(body: unknown): void {
  const handle = body as { destroy?: () => void; cancel?: () => Promise<void> } | null | undefined;
  try {
    if (typeof handle?.destroy === 'function') handle.destroy();
    else if (typeof handle?.cancel === 'function') handle.cancel().catch(() => undefined);
  } catch {
    // Nothing more can be done for it.
  }
}

/**
 * The hook saw only a temp file that is gone by now; the error names the object and the target
 * instead, and the temp file's name in the hook's message is replaced by what it was.
 */
function verifyFailed(error: unknown, tempPath: string, target: string, context: ObjectErrorOptions): Error {
  const said = error instanceof Error ? error.message : String(error);
  const reason = said.split(tempPath).join('the downloaded file').split(basename(tempPath)).join('the downloaded file');
  const object = `s3://${context.bucket}/${context.key}${context.etag === undefined ? '' : ` (ETag ${context.etag})`}`;
  return new VerifyFailedError(`verify refused ${object}, so ${target} was left as it was: ${reason}`, {
    ...context,
    cause: error,
  });
}

/** An attempt waited `idleTimeoutMs` for a response or for body bytes. Retried. */
class IdleTimeoutError extends Error {
  override readonly name = 'IdleTimeoutError';
  constructor(ms: number) {
    super(`No data for ${ms} ms`);
  }
}
