import { httpStatusOf } from '../aws-errors.ts';
import { isS3SyncError } from '../errors.ts';
import { warnListenerError } from '../events.ts';
import type { ErrorSummary, Logger, SqsListenerHealth } from './types.ts';

/**
 * A JSON-safe form of any thrown value, for `health()`: an SDK error or a Node network error
 * stringifies to `{}`, and its `$response` may hold a socket, so only name, code, message and
 * HTTP status are copied.
 */
export function summarizeError(error: unknown): ErrorSummary {
  if (isS3SyncError(error)) return error.toJSON();
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const fields = error as { code?: unknown; Code?: unknown };
  const code =
    typeof fields.code === 'string' ? fields.code : typeof fields.Code === 'string' ? fields.Code : undefined;
  const status = httpStatusOf(error);
  // Node's AggregateError for a refused dual-stack connection has an empty message.
  const message = error.message || code || error.name;
  return {
    name: error.name,
    message,
    ...(code === undefined ? {} : { code }),
    ...(status === undefined ? {} : { httpStatusCode: status }),
  };
}

type Level = 'debug' | 'info' | 'warn' | 'error';

/**
 * The user's logger with every call guarded: a logger that throws must not kill the poll loop
 * (issue 8), it only loses that line.
 */
export class SafeLogger {
  readonly #logger: Logger;

  constructor(logger: Logger | undefined) {
    this.#logger = logger ?? {};
  }

  get hasWarn(): boolean {
    return typeof this.#logger.warn === 'function';
  }

  log(level: Level, fields: object, message: string): boolean {
    try {
      this.#logger[level]?.(fields, message);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Reports an event listener that threw: to `logger.warn` when there is one, else (or when it
   * throws too) as a process warning.
   */
  readonly reportListenerError = (error: unknown, event: string): void => {
    if (this.hasWarn && this.log('warn', { err: error, event }, `a listener for '${event}' threw`)) return;
    warnListenerError(error, event);
  };
}

/** The receive side of `health()`: failures in a row, the last error, the last success. */
export class ReceiveRecord {
  #failures = 0;
  #error: unknown;
  #errorAt: number | undefined;
  #succeededAt: number | undefined;

  get failures(): number {
    return this.#failures;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#succeededAt = Date.now();
  }

  /** Returns the number of failures in a row, this one included. */
  failed(error: unknown): number {
    this.#error = error;
    this.#errorAt = Date.now();
    return ++this.#failures;
  }

  health(): Pick<
    SqsListenerHealth,
    'consecutiveReceiveFailures' | 'lastReceiveError' | 'lastReceiveErrorAt' | 'lastReceiveAt'
  > {
    return {
      consecutiveReceiveFailures: this.#failures,
      ...(this.#errorAt === undefined
        ? {}
        : { lastReceiveError: summarizeError(this.#error), lastReceiveErrorAt: new Date(this.#errorAt) }),
      ...(this.#succeededAt === undefined ? {} : { lastReceiveAt: new Date(this.#succeededAt) }),
    };
  }
}
