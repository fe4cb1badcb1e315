/**
 * Every error this package throws on purpose is an `S3SyncError`: one base class, a subclass per
 * kind of failure with a literal `name`, and a stable `code` string you can switch on. The
 * original failure, when there is one, is kept in `cause`.
 *
 * The codes are documented in `docs/errors.md`; a test keeps that table and this list in step.
 */

/** Stable error codes, one per kind of failure. */
export const S3_SYNC_ERROR_CODES = ['ERR_S3_URL'] as const;

/** One of {@link S3_SYNC_ERROR_CODES}. */
export type S3SyncErrorCode = (typeof S3_SYNC_ERROR_CODES)[number];

// A registered symbol, not a private one: `isS3SyncError` must recognise errors thrown by another
// copy of this package (two versions in one node_modules tree), where `instanceof` fails.
const BRAND: unique symbol = Symbol.for('s3-sqs-sync.error') as never;

/** Options shared by every {@link S3SyncError} constructor. */
export interface S3SyncErrorOptions {
  /** The underlying failure, kept as the standard `cause` property. */
  readonly cause?: unknown;
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
