import type { GetObjectCommandInput, S3Client } from '@aws-sdk/client-s3';
import { type S3Location, toS3Location } from '../url/s3-url.ts';
import { checkOptionalInteger, checkOptionalPositive, checkOptionalString } from '../validate.ts';
import type { ChecksumInfo } from './checksums.ts';

/** Retry policy for transient failures. Delays grow exponentially with jitter, up to the cap. */
export interface DownloadRetryOptions {
  /**
   * Retries after the first attempt.
   * @defaultValue 3
   */
  readonly retries?: number | undefined;
  /**
   * Delay before the first retry, before jitter (which multiplies it by 1 to 2).
   * @defaultValue 200
   */
  readonly minDelayMs?: number | undefined;
  /**
   * Longest delay between two attempts.
   * @defaultValue 5000
   */
  readonly maxDelayMs?: number | undefined;
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

/** The third argument of `verify`. */
export interface DownloadVerifyContext {
  /** Aborted when the download is (the caller's `signal`): stop reading and throw. */
  readonly signal: AbortSignal;
}

/**
 * The `GetObject` input fields `downloadS3Object` sets itself, or that would break its
 * guarantees (a range or a part is not the object; `If-Modified-Since` answers 304 to a call that
 * did not give `ifNoneMatch`). Everything else can be passed through `getObjectInput`.
 */
const CONTROLLED_INPUT_FIELDS = [
  'Bucket',
  'Key',
  'VersionId',
  'IfMatch',
  'IfNoneMatch',
  'IfModifiedSince',
  'IfUnmodifiedSince',
  'Range',
  'PartNumber',
  'ExpectedBucketOwner',
] as const;

/** `GetObject` input passed through as given: SSE-C keys, `RequestPayer`, `ChecksumMode`, … */
export type GetObjectPassThroughInput = Partial<Omit<GetObjectCommandInput, (typeof CONTROLLED_INPUT_FIELDS)[number]>>;

/** Options for {@link downloadS3Object}. */
export interface DownloadOptions<V = unknown> {
  /** The S3 client to use. Its own retry settings apply to each attempt too. */
  readonly client: S3Client;
  /** An S3 URL (any form {@link parseS3Url} accepts) or a location. */
  readonly source: string | S3Location;
  /**
   * The file to replace. Its directory must exist. A symlink is followed: the file it names is
   * replaced and the link kept. Downloads to one target in one process run one at a time, in
   * call order.
   */
  readonly target: string;
  /** The ETag you already have: an unchanged object gives `{ status: 'not-modified' }` (HTTP 304). */
  readonly ifNoneMatch?: string | undefined;
  /** Download only this exact version (by ETag); a replaced object fails with `ERR_PRECONDITION` (412). */
  readonly ifMatch?: string | undefined;
  /**
   * Download this version id (needs `s3:GetObjectVersion`). A `versionId` in the source URL counts
   * the same; the two must agree. Without one, retries keep to the first response's object with
   * `If-Match` on its ETag, which needs only `s3:GetObject`.
   */
  readonly versionId?: string | undefined;
  /**
   * The account id that must own the bucket (`ExpectedBucketOwner`): a bucket of another account
   * answers 403 (`ERR_ACCESS_DENIED`) instead of sending its object.
   */
  readonly expectedBucketOwner?: string | undefined;
  /**
   * Further `GetObject` input, sent as given: `SSECustomerAlgorithm`, `SSECustomerKey`,
   * `SSECustomerKeyMD5`, `RequestPayer`, `ChecksumMode`, response header overrides. Fields this
   * function sets itself or that would fetch less than the whole object (`Bucket`, `Key`,
   * `VersionId`, `IfMatch`, `IfNoneMatch`, `IfModifiedSince`, `IfUnmodifiedSince`, `Range`,
   * `PartNumber`, `ExpectedBucketOwner`) are refused with a `TypeError`.
   * @defaultValue `{ ChecksumMode: 'ENABLED' }`
   */
  readonly getObjectInput?: GetObjectPassThroughInput | undefined;
  /** Refuse objects larger than this (`ERR_TOO_LARGE`), before writing when Content-Length says so. */
  readonly maxBytes?: number | undefined;
  /**
   * Runs on the complete temp file before it replaces the target; a throw (or rejection) aborts
   * the download with `ERR_VERIFY_FAILED` and leaves the target untouched. Its return value is
   * reported as `verified`. `context.signal` aborts with the download.
   */
  readonly verify?:
    | ((tempPath: string, info: ObjectInfo, context: DownloadVerifyContext) => V | Promise<V>)
    | undefined;
  /**
   * Aborts the download (`ERR_ABORTED`, with `signal.reason` as the cause) until the new file has
   * replaced the target; from then on the download has succeeded.
   */
  readonly signal?: AbortSignal | undefined;
  /**
   * Retries for transient failures (5xx, throttling, resets, a body cut or stalled mid-stream),
   * or `false` for none.
   * @defaultValue `{ retries: 3, minDelayMs: 200, maxDelayMs: 5000 }`
   */
  readonly retry?: DownloadRetryOptions | false | undefined;
  /**
   * An attempt that waits this long for a response, or for the next bytes of the body, is
   * abandoned and retried. Time spent writing to the disk is not counted. `false` or `Infinity`
   * turns it off; at most 2147483647 (setTimeout's limit).
   * @defaultValue 30000
   */
  readonly idleTimeoutMs?: number | false | undefined;
  /** Called as bytes arrive, with the total when S3 sent a Content-Length. */
  readonly onProgress?: ((progress: { readonly bytes: number; readonly total?: number }) => void) | undefined;
  /**
   * fsync the file before the rename and the directory after it, so the new content survives a
   * power loss. Turn off only for scratch data.
   * @defaultValue true
   */
  readonly fsync?: boolean | undefined;
  /**
   * Permissions of the file when the target does not exist yet (before the process umask). A
   * target that exists keeps its mode, and its owner where the process may set it.
   * @defaultValue 0o666
   */
  readonly mode?: number | undefined;
}

/** The largest delay setTimeout can hold; a larger one fires at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Throws a TypeError naming `expectedBucketOwner` unless it is absent or a 12-digit account id.
 * Shared with `createS3Sync`, which must refuse a bad one when it is created: passed on to every
 * download, it would fail each update instead, and be retried for ever.
 */
export function checkExpectedBucketOwner(value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || !/^\d{12}$/.test(value))) {
    throw new TypeError(`Expected \`expectedBucketOwner\` to be a 12-digit AWS account id, received ${String(value)}`);
  }
}

/** Validates `options` and returns the source location, or throws a TypeError or RangeError. */
export function checkOptions(options: DownloadOptions<unknown>): S3Location {
  if (typeof options !== 'object' || options === null) throw new TypeError('Expected an options object');
  if (typeof options.client?.send !== 'function') throw new TypeError('Expected `client` to be an S3Client');
  if (typeof options.target !== 'string' || options.target === '') {
    throw new TypeError(`Expected \`target\` to be a file path, received ${String(options.target)}`);
  }
  checkOptionalString('ifNoneMatch', options.ifNoneMatch);
  checkOptionalString('ifMatch', options.ifMatch);
  checkOptionalString('versionId', options.versionId);
  checkExpectedBucketOwner(options.expectedBucketOwner);
  checkPassThrough(options.getObjectInput);
  checkOptionalPositive('maxBytes', options.maxBytes, true);
  const idle = options.idleTimeoutMs;
  if (idle !== false && idle !== Number.POSITIVE_INFINITY) {
    checkOptionalPositive('idleTimeoutMs', idle, false);
    if (idle !== undefined && idle > MAX_TIMER_MS) {
      throw new RangeError(
        `Expected \`idleTimeoutMs\` to be at most ${MAX_TIMER_MS}, or false or Infinity to turn it off, received ${idle}`,
      );
    }
  }
  checkOptionalInteger('mode', options.mode, 0, 0o7777);
  if (options.verify !== undefined && typeof options.verify !== 'function') {
    throw new TypeError('Expected `verify` to be a function');
  }
  if (options.retry !== undefined && options.retry !== false) {
    if (typeof options.retry !== 'object' || options.retry === null) {
      throw new TypeError(`Expected \`retry\` to be an object or false, received ${String(options.retry)}`);
    }
    checkOptionalPositive('retry.minDelayMs', options.retry.minDelayMs, false);
    checkOptionalPositive('retry.maxDelayMs', options.retry.maxDelayMs, false);
    checkOptionalInteger('retry.retries', options.retry.retries, 0);
  }
  return resolveSource(options);
}

function checkPassThrough(input: unknown): void {
  if (input === undefined) return;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new TypeError(`Expected \`getObjectInput\` to be an object, received ${String(input)}`);
  }
  for (const field of CONTROLLED_INPUT_FIELDS) {
    if (Object.hasOwn(input, field)) {
      throw new TypeError(
        `\`getObjectInput.${field}\` is not allowed: downloadS3Object sets it from its own options (source, versionId, ifMatch, ifNoneMatch, expectedBucketOwner) or it would fetch less than the whole object`,
      );
    }
  }
}

function resolveSource(options: DownloadOptions<unknown>): S3Location {
  const location = toS3Location(options.source);
  if (options.versionId !== undefined && location.versionId !== undefined && options.versionId !== location.versionId) {
    throw new TypeError(
      `\`versionId\` "${options.versionId}" conflicts with the source's versionId "${location.versionId}"`,
    );
  }
  return location;
}
