import { EventEmitter } from 'node:events';

/** Called with a listener's throw (or an async listener's rejection) and the event it was for. */
export type ListenerErrorReporter = (error: unknown, event: string) => void;

/**
 * The default report of a listener that threw: a process warning (stderr unless the process
 * listens for 'warning'). Never 'error', never an exception.
 */
export function warnListenerError(error: unknown, event: string): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`A listener for '${event}' threw: ${message}`, {
    type: 'S3SyncListenerWarning',
    code: 'S3_SYNC_LISTENER_THREW',
    ...(error instanceof Error && error.stack !== undefined ? { detail: error.stack } : {}),
  });
}

/**
 * Typed `on` / `once` / `off` over Node's EventEmitter, with a protected `emit` that never
 * emits 'error' and calls each listener on its own: a listener that throws, or an async one
 * that rejects, is reported (see {@link ListenerErrorReporter}) and neither stops the listeners
 * after it nor the work that emitted the event. Internal base of the store and the listener.
 */
export class TypedEvents<M extends Record<keyof M, unknown[]>> {
  readonly #events = new EventEmitter();
  #report: ListenerErrorReporter;

  constructor(report: ListenerErrorReporter = warnListenerError) {
    this.#report = report;
  }

  on<E extends keyof M & string>(event: E, listener: (...args: M[E]) => unknown): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof M & string>(event: E, listener: (...args: M[E]) => unknown): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof M & string>(event: E, listener: (...args: M[E]) => unknown): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<E extends keyof M & string>(event: E): number {
    return this.#events.listenerCount(event);
  }

  /** Replaces how a throwing listener is reported (a subclass passes its logger). */
  protected setListenerErrorReporter(report: ListenerErrorReporter): void {
    this.#report = report;
  }

  protected emit<E extends keyof M & string>(event: E, ...args: M[E]): void {
    // rawListeners: a copy, so listeners added or removed by a listener take effect next time,
    // and `once` wrappers that remove themselves when called.
    for (const listener of this.#events.rawListeners(event)) {
      try {
        const result: unknown = (listener as (...a: unknown[]) => unknown).apply(this, args);
        if (isThenable(result)) result.then(undefined, (error: unknown) => this.#reportSafely(error, event));
      } catch (error) {
        this.#reportSafely(error, event);
      }
    }
  }

  protected removeAllListeners(): void {
    this.#events.removeAllListeners();
  }

  #reportSafely(error: unknown, event: string): void {
    try {
      this.#report(error, event);
    } catch {
      // A reporter that throws (a broken logger) must not turn a listener's bug into a crash.
    }
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}
