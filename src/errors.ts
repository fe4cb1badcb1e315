/**
 * Every error this package throws on purpose is an `S3SyncError`: one base class, a subclass per
 * kind of failure with a literal `name`, and a stable `code` string you can switch on. The
 * original failure, when there is one, is kept in `cause`.
 *
 * The codes are documented in `docs/errors.md`; a test keeps that table and this list in step.
 */

/** Stable error codes, one per kind of failure. */
export const S3_SYNC_ERROR_CODES = [
  'ERR_S3_URL',
  'ERR_NOT_FOUND',
  'ERR_ACCESS_DENIED',
  'ERR_PRECONDITION',
  'ERR_TOO_LARGE',
  'ERR_VERIFY_FAILED',
  'ERR_CHECKSUM',
  'ERR_ABORTED',
  'ERR_DOWNLOAD',
  'ERR_PARSE',
  'ERR_VALIDATION',
  'ERR_NOT_READY',
  'ERR_CLOSED',
  'ERR_LOAD',
  'ERR_FILE_SYSTEM',
  'ERR_STALE_UPDATE',
  'ERR_HANDLER_TIMEOUT',
  'ERR_STOP_DEADLINE',
  'ERR_HEARTBEAT',
  'ERR_MESSAGE',
  'ERR_CONFIG',
] as const;

/** One of {@link S3_SYNC_ERROR_CODES}. */
export type S3SyncErrorCode = (typeof S3_SYNC_ERROR_CODES)[number];

// A registered symbol, not a private one: `isS3SyncError` must recognise errors thrown by another
// copy of this package (two versions in one node_modules tree), where `instanceof` fails.
const BRAND: unique symbol = Symbol.for('s3-sqs-sync.error') as never;

/** Options shared by every {@link S3SyncError} constructor. */
export interface S3SyncErrorOptions {
  /** The underlying failure, kept as the standard `cause` property. */
  readonly cause?: unknown | undefined;
}

/** Where a failure happened: an S3 object, a local file, or both. */
export interface S3SyncErrorContext {
  readonly bucket?: string;
  readonly key?: string;
  readonly versionId?: string;
  /** The object's ETag, with its quotes, as S3 sends it. */
  readonly etag?: string;
  /** A local file (a download target, a store's file). */
  readonly path?: string;
  /** The SQS message the failure is about. */
  readonly messageId?: string;
}

/** What `JSON.stringify(error)` writes for an {@link S3SyncError}: enough for a log line or `/health`. */
export interface S3SyncErrorJSON extends S3SyncErrorContext {
  readonly name: string;
  readonly code: S3SyncErrorCode;
  readonly message: string;
  /** The cause's name, code and message, when there is one (never its stack). */
  readonly cause?: { readonly name?: string; readonly code?: string; readonly message: string };
  /** Any other context field the subclass carries (`maxBytes`, `attempts`, `issues`, …). */
  readonly [field: string]: unknown;
}

// Fields of an error that toJSON() never copies: the standard ones, written explicitly or not at all.
const NOT_CONTEXT = new Set(['name', 'code', 'message', 'stack', 'cause']);

function causeJSON(cause: unknown): S3SyncErrorJSON['cause'] {
  if (cause === undefined) return undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return { name: cause.name, ...(typeof code === 'string' ? { code } : {}), message: cause.message };
  }
  return { message: String(cause) };
}

/** Base class of every error this package throws on purpose. */
export class S3SyncError extends Error {
  override readonly name: string = 'S3SyncError';
  /** Stable, documented code; switch on this rather than on `message`. */
  readonly code: S3SyncErrorCode;
  declare readonly [BRAND]: true;

  constructor(code: S3SyncErrorCode, message: string, options?: S3SyncErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * A plain object for `JSON.stringify`: name, code, message, every context field the error has
   * (bucket, key, path, etag, versionId, …) and a short form of its cause. An `Error` alone
   * stringifies to `{}`.
   */
  toJSON(): S3SyncErrorJSON {
    const json: Record<string, unknown> = { name: this.name, code: this.code, message: this.message };
    for (const [field, value] of Object.entries(this)) {
      if (!NOT_CONTEXT.has(field) && value !== undefined && typeof value !== 'function') json[field] = value;
    }
    const cause = causeJSON(this.cause);
    if (cause !== undefined) json.cause = cause;
    return json as unknown as S3SyncErrorJSON;
  }
}

/** Options for {@link S3UrlError}. */
export interface S3UrlErrorOptions extends S3SyncErrorOptions {
  /** The string (or location) that was refused. */
  readonly input: string;
  /** Why it was refused, as a short sentence. */
  readonly reason: string;
}

const MAX_INPUT_IN_MESSAGE = 200;

/** An S3 URL that could not be parsed, or an `S3Location` that cannot be formatted. */
export class S3UrlError extends S3SyncError {
  override readonly name = 'S3UrlError' as const;
  declare readonly code: 'ERR_S3_URL';
  /** The refused input, exactly as given. */
  readonly input: string;
  /** Why it was refused. */
  readonly reason: string;

  constructor(options: S3UrlErrorOptions) {
    const shown =
      options.input.length > MAX_INPUT_IN_MESSAGE ? `${options.input.slice(0, MAX_INPUT_IN_MESSAGE)}…` : options.input;
    super('ERR_S3_URL', `Invalid S3 URL ${JSON.stringify(shown)}: ${options.reason}`, options);
    this.input = options.input;
    this.reason = options.reason;
  }
}

/** Options for the errors that carry a {@link S3SyncErrorContext}. */
export interface ObjectErrorOptions extends S3SyncErrorOptions, S3SyncErrorContext {}

/** Base of the errors about one object or file; copies the context fields it is given. */
abstract class ObjectError extends S3SyncError implements S3SyncErrorContext {
  readonly bucket?: string;
  readonly key?: string;
  readonly versionId?: string;
  readonly etag?: string;
  readonly path?: string;
  readonly messageId?: string;

  constructor(code: S3SyncErrorCode, message: string, options: ObjectErrorOptions) {
    super(code, message, options);
    if (options.bucket !== undefined) this.bucket = options.bucket;
    if (options.key !== undefined) this.key = options.key;
    if (options.versionId !== undefined) this.versionId = options.versionId;
    if (options.etag !== undefined) this.etag = options.etag;
    if (options.path !== undefined) this.path = options.path;
    if (options.messageId !== undefined) this.messageId = options.messageId;
  }
}

/** The object (404, `NoSuchKey`, `NoSuchVersion`, `NoSuchBucket`) or the file does not exist. */
export class NotFoundError extends ObjectError {
  override readonly name = 'NotFoundError' as const;
  declare readonly code: 'ERR_NOT_FOUND';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_NOT_FOUND', message, options);
  }
}

/** S3 refused the request (403): credentials, a bucket policy, KMS permissions. */
export class AccessDeniedError extends ObjectError {
  override readonly name = 'AccessDeniedError' as const;
  declare readonly code: 'ERR_ACCESS_DENIED';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_ACCESS_DENIED', message, options);
  }
}

/** A pinned version is no longer what S3 holds (412 on `If-Match`): a newer write replaced it. */
export class PreconditionFailedError extends ObjectError {
  override readonly name = 'PreconditionFailedError' as const;
  declare readonly code: 'ERR_PRECONDITION';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_PRECONDITION', message, options);
  }
}

/** Options for {@link TooLargeError}. */
export interface TooLargeErrorOptions extends ObjectErrorOptions {
  /** The limit that was exceeded, in bytes. */
  readonly maxBytes: number;
  /** The size found (or the bytes seen when the limit was crossed). */
  readonly bytes: number;
}

/** An object or file is larger than the `maxBytes` the caller allowed. */
export class TooLargeError extends ObjectError {
  override readonly name = 'TooLargeError' as const;
  declare readonly code: 'ERR_TOO_LARGE';
  readonly maxBytes: number;
  readonly bytes: number;
  constructor(message: string, options: TooLargeErrorOptions) {
    super('ERR_TOO_LARGE', message, options);
    this.maxBytes = options.maxBytes;
    this.bytes = options.bytes;
  }
}

/** The caller's `verify` hook rejected the downloaded bytes; its error is the `cause`. */
export class VerifyFailedError extends ObjectError {
  override readonly name = 'VerifyFailedError' as const;
  declare readonly code: 'ERR_VERIFY_FAILED';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_VERIFY_FAILED', message, options);
  }
}

/** The bytes received do not match the checksum S3 sent (after every retry). */
export class ChecksumMismatchError extends ObjectError {
  override readonly name = 'ChecksumMismatchError' as const;
  declare readonly code: 'ERR_CHECKSUM';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_CHECKSUM', message, options);
  }
}

/** The caller's `signal` aborted the operation; `signal.reason` is the `cause`. */
export class AbortedError extends ObjectError {
  override readonly name = 'AbortedError' as const;
  declare readonly code: 'ERR_ABORTED';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_ABORTED', message, options);
  }
}

/** Options for {@link DownloadError}. */
export interface DownloadErrorOptions extends ObjectErrorOptions {
  /** How many attempts were made. */
  readonly attempts: number;
}

/**
 * A download failed for a reason with no code of its own: transient failures (5xx, throttling,
 * resets, cut or stalled bodies) that outlasted every retry, or an unclassified S3 error.
 */
export class DownloadError extends ObjectError {
  override readonly name = 'DownloadError' as const;
  declare readonly code: 'ERR_DOWNLOAD';
  readonly attempts: number;
  constructor(message: string, options: DownloadErrorOptions) {
    super('ERR_DOWNLOAD', message, options);
    this.attempts = options.attempts;
  }
}

/** A file's content could not be parsed (invalid or truncated JSON, an empty file, a BOM, a forbidden key). */
export class ParseError extends ObjectError {
  override readonly name = 'ParseError' as const;
  declare readonly code: 'ERR_PARSE';
  constructor(message: string, options: ObjectErrorOptions) {
    super('ERR_PARSE', message, options);
  }
}

/** One problem a validator found, as Standard Schema reports it. */
export interface ValidationIssue {
  readonly message: string;
  /** Where in the data, as a list of keys and indexes. */
  readonly path?: readonly PropertyKey[];
}

/** Options for {@link ValidationError}. */
export interface ValidationErrorOptions extends ObjectErrorOptions {
  readonly issues: readonly ValidationIssue[];
}

/** The data parsed but the `validate` hook (a function or a Standard Schema) rejected it. */
export class ValidationError extends ObjectError {
  override readonly name = 'ValidationError' as const;
  declare readonly code: 'ERR_VALIDATION';
  /** What was wrong, at least one issue. */
  readonly issues: readonly ValidationIssue[];
  constructor(message: string, options: ValidationErrorOptions) {
    super('ERR_VALIDATION', message, options);
    this.issues = options.issues;
  }
}

/** The store has no data yet: `load()` has not succeeded. */
export class NotReadyError extends ObjectError {
  override readonly name = 'NotReadyError' as const;
  declare readonly code: 'ERR_NOT_READY';
  constructor(message: string, options: ObjectErrorOptions = {}) {
    super('ERR_NOT_READY', message, options);
  }
}

/** The store (or listener, or sync) was closed; it takes no more work. */
export class ClosedError extends ObjectError {
  override readonly name = 'ClosedError' as const;
  declare readonly code: 'ERR_CLOSED';
  constructor(message: string, options: ObjectErrorOptions = {}) {
    super('ERR_CLOSED', message, options);
  }
}

/** A store's `load` function failed for a reason that is not about a file (a database, an API). */
export class LoadError extends ObjectError {
  override readonly name = 'LoadError' as const;
  declare readonly code: 'ERR_LOAD';
  constructor(message: string, options: ObjectErrorOptions = {}) {
    super('ERR_LOAD', message, options);
  }
}

/** Options for {@link FileSystemError}. */
export interface FileSystemErrorOptions extends ObjectErrorOptions {
  /** Node's error code: `EISDIR`, `ENAMETOOLONG`, `ENOSPC`, `EROFS`, `EIO`, … */
  readonly errno: string;
  /** The call that failed (`open`, `rename`, `fsync`, …), when Node says. */
  readonly syscall?: string | undefined;
}

/**
 * A local file-system call failed for a reason with no code of its own: the path is a directory,
 * the name is too long, the disk is full or read-only, an I/O error. Node's error is the `cause`.
 */
export class FileSystemError extends ObjectError {
  override readonly name = 'FileSystemError' as const;
  declare readonly code: 'ERR_FILE_SYSTEM';
  readonly errno: string;
  readonly syscall?: string;
  constructor(message: string, options: FileSystemErrorOptions) {
    super('ERR_FILE_SYSTEM', message, options);
    this.errno = options.errno;
    if (options.syscall !== undefined) this.syscall = options.syscall;
  }
}

/** Options for {@link StaleUpdateError}. */
export interface StaleUpdateErrorOptions extends ObjectErrorOptions {
  /** `superseded`: the store moved on after the update was staged; `published`: it was published already. */
  readonly reason: 'superseded' | 'published';
}

/**
 * A staged store update cannot be published: something newer was published after it was staged,
 * or it was published already. The store keeps what it has.
 */
export class StaleUpdateError extends ObjectError {
  override readonly name = 'StaleUpdateError' as const;
  declare readonly code: 'ERR_STALE_UPDATE';
  readonly reason: 'superseded' | 'published';
  constructor(message: string, options: StaleUpdateErrorOptions) {
    super('ERR_STALE_UPDATE', message, options);
    this.reason = options.reason;
  }
}

/** Options for {@link HandlerTimeoutError}. */
export interface HandlerTimeoutErrorOptions extends ObjectErrorOptions {
  readonly timeoutMs: number;
}

/** A message handler ran longer than `handlerTimeoutMs`: its signal was aborted and its slot freed. */
export class HandlerTimeoutError extends ObjectError {
  override readonly name = 'HandlerTimeoutError' as const;
  declare readonly code: 'ERR_HANDLER_TIMEOUT';
  readonly timeoutMs: number;
  constructor(message: string, options: HandlerTimeoutErrorOptions) {
    super('ERR_HANDLER_TIMEOUT', message, options);
    this.timeoutMs = options.timeoutMs;
  }
}

/** `stop({ timeoutMs })` reached its deadline while a handler still ran: its message was handed back. */
export class StopDeadlineError extends ObjectError {
  override readonly name = 'StopDeadlineError' as const;
  declare readonly code: 'ERR_STOP_DEADLINE';
  constructor(message: string, options: ObjectErrorOptions = {}) {
    super('ERR_STOP_DEADLINE', message, options);
  }
}

/**
 * A visibility heartbeat failed, or reached `maxExtensionSeconds`: the message may be delivered
 * again while its handler runs, so the handler's signal is aborted with this reason.
 */
export class HeartbeatError extends ObjectError {
  override readonly name = 'HeartbeatError' as const;
  declare readonly code: 'ERR_HEARTBEAT';
  constructor(message: string, options: ObjectErrorOptions = {}) {
    super('ERR_HEARTBEAT', message, options);
  }
}

/** Options for {@link MessageError}. */
export interface MessageErrorOptions extends ObjectErrorOptions {
  /** Why the message was refused, as a short sentence. */
  readonly reason: string;
}

/** An SQS message body is not a message this package understands, or announces nothing valid. */
export class MessageError extends ObjectError {
  override readonly name = 'MessageError' as const;
  declare readonly code: 'ERR_MESSAGE';
  readonly reason: string;
  constructor(message: string, options: MessageErrorOptions) {
    super('ERR_MESSAGE', message, options);
    this.reason = options.reason;
  }
}

/** Options for {@link ConfigError}. */
export interface ConfigErrorOptions extends S3SyncErrorOptions {
  /** The environment variable (or option) whose value was refused. */
  readonly variable: string;
}

/** A configuration value (an environment variable) is missing or malformed. */
export class ConfigError extends S3SyncError {
  override readonly name = 'ConfigError' as const;
  declare readonly code: 'ERR_CONFIG';
  readonly variable: string;
  constructor(message: string, options: ConfigErrorOptions) {
    super('ERR_CONFIG', message, options);
    this.variable = options.variable;
  }
}

/**
 * The typed error class for a Node.js file-system failure: missing → `ERR_NOT_FOUND`, not
 * permitted → `ERR_ACCESS_DENIED`; `undefined` for other codes (see {@link fileSystemError}).
 * Internal.
 */
export function fileSystemErrorClass(error: unknown): typeof NotFoundError | typeof AccessDeniedError | undefined {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return NotFoundError;
  if (code === 'EACCES' || code === 'EPERM') return AccessDeniedError;
  return undefined;
}

/** True for a Node.js system error (`EMFILE`, `EIO`, …): a string `code` of `E` and capitals. Internal. */
export function isSystemError(error: unknown): error is NodeJS.ErrnoException {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code);
}

/**
 * The one mapping of a Node.js file-system failure to a typed error: `ERR_NOT_FOUND`,
 * `ERR_ACCESS_DENIED`, or `ERR_FILE_SYSTEM` for any other errno code. `undefined` when `error`
 * is not a file-system error (no string `code` starting with `E`). Internal.
 */
export function fileSystemError(
  error: unknown,
  message: string,
  context: ObjectErrorOptions,
): NotFoundError | AccessDeniedError | FileSystemError | undefined {
  if (!isSystemError(error)) return undefined;
  const errno = error.code as string;
  const Known = fileSystemErrorClass(error);
  const options = { ...context, cause: error };
  if (Known !== undefined) return new Known(message, options);
  const syscall = (error as NodeJS.ErrnoException).syscall;
  return new FileSystemError(message, { ...options, errno, ...(syscall === undefined ? {} : { syscall }) });
}

/** Throws an {@link S3UrlError} for `input`: the one way the URL code refuses. Internal. */
export function refuseUrl(input: string, reason: string): never {
  throw new S3UrlError({ input, reason });
}

/**
 * True when `value` is an error thrown by this package, including one thrown by another copy of
 * it. Narrow further with `error.code`.
 */
export function isS3SyncError(value: unknown): value is S3SyncError {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { [BRAND]?: unknown })[BRAND] === true &&
    typeof (value as { code?: unknown }).code === 'string'
  );
}
