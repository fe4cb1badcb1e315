import {
  AbortedError,
  ClosedError,
  fileSystemError,
  LoadError,
  NotReadyError,
  type ObjectErrorOptions,
  ParseError,
  S3SyncError,
  StaleUpdateError,
} from '../errors.ts';
import { type ListenerErrorReporter, TypedEvents, warnListenerError } from '../events.ts';
import { deepFreeze } from './freeze.ts';
import type {
  ReloadableStore,
  ReloadOptions,
  SnapshotSource,
  StagedUpdate,
  StoreEventMap,
  StoreHealth,
  StoreSnapshot,
} from './types.ts';
import { toValidator, type Validate } from './validator.ts';

/** What a concrete store plugs into the shared machinery. */
export interface StoreSourceOptions<T> {
  /** Reads the store's own source (a file, an API, a database) and returns the raw data. */
  readonly read: (signal: AbortSignal) => Promise<unknown>;
  /** Reads a candidate file for `stage()`. */
  readonly readCandidate: (path: string, signal: AbortSignal) => Promise<unknown>;
  readonly validate?: Validate<T> | undefined;
  /** Deep-freeze data before publishing it. */
  readonly freeze?: boolean | undefined;
  /** Where the store's data comes from, merged into snapshots and errors. */
  readonly source?: SnapshotSource | undefined;
  /** Told when an event listener throws or rejects. */
  readonly onListenerError?: ListenerErrorReporter | undefined;
}

/** Checks the `onListenerError` option shared by the stores. */
export function checkListenerErrorOption(value: unknown): void {
  if (value !== undefined && typeof value !== 'function') {
    throw new TypeError(`Expected \`onListenerError\` to be a function, received ${String(value)}`);
  }
}

/** Maps what a `load` function threw to a typed error: its own, or by the usual Node.js shapes. */
function asStoreError(error: unknown, context: ObjectErrorOptions): S3SyncError {
  if (error instanceof S3SyncError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const typed = fileSystemError(error, `Loading failed: ${message}`, context);
  if (typed !== undefined) return typed;
  const options = { ...context, cause: error };
  if (error instanceof SyntaxError) return new ParseError(`Loading failed: ${message}`, options);
  return new LoadError(`Loading failed: ${message}`, options);
}

/** Rejects with `ERR_ABORTED` when `signal` fires first; the shared work goes on for others. */
function untilAborted<V>(work: Promise<V>, signal: AbortSignal | undefined, context: ObjectErrorOptions): Promise<V> {
  if (signal === undefined) return work;
  if (signal.aborted) return Promise.reject(new AbortedError('Aborted', { ...context, cause: signal.reason }));
  return new Promise<V>((resolve, reject) => {
    const onAbort = () => reject(new AbortedError('Aborted', { ...context, cause: signal.reason }));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

interface Deferred<V> {
  readonly promise: Promise<V>;
  resolve(value: Promise<V>): void;
  reject(reason: unknown): void;
}

function deferred<V>(): Deferred<V> {
  let resolve!: (value: Promise<V>) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<V>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** The machinery every store shares: snapshots, versions, single-flight reads, health, events. */
export class StoreCore<T> extends TypedEvents<StoreEventMap<T>> implements ReloadableStore<T> {
  readonly #options: StoreSourceOptions<T>;
  readonly #validate: (data: unknown, context: ObjectErrorOptions) => Promise<T>;
  readonly #context: ObjectErrorOptions;
  readonly #closing = new AbortController();
  #current: StoreSnapshot<T> | undefined;
  #running: Promise<StoreSnapshot<T>> | undefined;
  #queued: Deferred<StoreSnapshot<T>> | undefined;
  // Every read and every staged publish takes a ticket when it starts; a read whose result
  // arrives after something newer was published is dropped, so versions only move forward in
  // time as well as in number.
  #tickets = 0;
  #publishedTicket = 0;
  #failures = 0;
  #lastError: S3SyncError | undefined;
  #closed = false;

  constructor(options: StoreSourceOptions<T>) {
    super(options.onListenerError ?? warnListenerError);
    this.#options = options;
    this.#validate = toValidator(options.validate);
    this.#context = options.source?.path === undefined ? {} : { path: options.source.path };
  }

  get(): T {
    const current = this.#current;
    if (current === undefined)
      throw new NotReadyError('The store has no data yet: load() has not succeeded', this.#context);
    return current.data;
  }

  snapshot(): StoreSnapshot<T> {
    const current = this.#current;
    if (current === undefined)
      throw new NotReadyError('The store has no data yet: load() has not succeeded', this.#context);
    return current;
  }

  load(options?: ReloadOptions): Promise<StoreSnapshot<T>> {
    return this.reload(options);
  }

  reload(options?: ReloadOptions): Promise<StoreSnapshot<T>> {
    if (this.#closed) return Promise.reject(new ClosedError('The store is closed', this.#context));
    return untilAborted(this.#sharedRead(), options?.signal, this.#context);
  }

  async stage(candidatePath: string, source?: SnapshotSource): Promise<StagedUpdate<T>> {
    if (typeof candidatePath !== 'string' || candidatePath === '') {
      throw new TypeError(`Expected \`candidatePath\` to be a file path, received ${String(candidatePath)}`);
    }
    if (this.#closed) throw new ClosedError('The store is closed', this.#context);
    const context = { path: candidatePath };
    // What the update is staged against: publishing over anything published after this point
    // could put older data in front of newer (the store's own reload of a newer file).
    const stagedAgainst = this.#current;
    let data: T;
    try {
      data = await this.#validate(await this.#options.readCandidate(candidatePath, this.#closing.signal), context);
      if (this.#options.freeze === true) deepFreeze(data);
    } catch (error) {
      // Interrupted by close(): not a failure of the candidate.
      if (this.#closed) throw new ClosedError('The store is closed', { ...context, cause: error });
      throw this.#fail(asStoreError(error, context));
    }
    if (this.#closed) throw new ClosedError('The store is closed', context);
    const merged: SnapshotSource = { ...this.#options.source, ...source };
    let published = false;
    return Object.freeze({
      data,
      publish: (): StoreSnapshot<T> => {
        if (published) {
          throw new StaleUpdateError('This staged update was already published', { ...context, reason: 'published' });
        }
        if (this.#closed) throw new ClosedError('The store is closed', this.#context);
        if (this.#current !== stagedAgainst) {
          throw new StaleUpdateError(
            `A newer snapshot (version ${this.#current?.version ?? 0}) was published after this update was staged`,
            { ...context, reason: 'superseded' },
          );
        }
        published = true;
        return this.#publish(data, merged, ++this.#tickets);
      },
    });
  }

  health(): StoreHealth {
    const current = this.#current;
    return {
      ready: current !== undefined,
      version: current?.version ?? 0,
      consecutiveFailures: this.#failures,
      ...(current === undefined ? {} : { loadedAt: current.loadedAt }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError }),
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort(new ClosedError('The store is closed', this.#context));
    this.removeAllListeners();
    await Promise.allSettled([this.#running, this.#queued?.promise]);
  }

  /** Joins the read that will start next if one is running, so no caller gets a stale answer. */
  #sharedRead(): Promise<StoreSnapshot<T>> {
    if (this.#running === undefined) return this.#startRead();
    this.#queued ??= deferred<StoreSnapshot<T>>();
    return this.#queued.promise;
  }

  #startRead(): Promise<StoreSnapshot<T>> {
    const run = this.#readAndPublish(++this.#tickets);
    this.#running = run;
    // Registered before any caller can await `run`, so it runs first when the read settles: the
    // queued read becomes the running one in the same step, and a caller woken by this read
    // that reloads again joins it instead of starting a second read beside it.
    const settle = () => {
      const queued = this.#queued;
      this.#queued = undefined;
      this.#running = undefined;
      if (queued === undefined) return;
      if (this.#closed) queued.reject(new ClosedError('The store is closed', this.#context));
      else queued.resolve(this.#startRead());
    };
    run.then(settle, settle);
    return run;
  }

  async #readAndPublish(ticket: number): Promise<StoreSnapshot<T>> {
    let data: T;
    try {
      data = await this.#validate(await this.#options.read(this.#closing.signal), this.#context);
      if (this.#options.freeze === true) deepFreeze(data);
    } catch (error) {
      if (this.#closed) throw new ClosedError('The store is closed', { ...this.#context, cause: error });
      throw this.#fail(asStoreError(error, this.#context));
    }
    if (this.#closed) throw new ClosedError('The store is closed', this.#context);
    return this.#publish(data, this.#options.source, ticket);
  }

  #publish(data: T, source: SnapshotSource | undefined, ticket: number): StoreSnapshot<T> {
    const previous = this.#current;
    if (ticket < this.#publishedTicket && previous !== undefined) return previous;
    const snapshot: StoreSnapshot<T> = Object.freeze({
      version: (previous?.version ?? 0) + 1,
      data,
      loadedAt: new Date(),
      ...(source === undefined ? {} : { source: Object.freeze({ ...source }) }),
    });
    // The swap: one reference assignment. Readers hold whichever snapshot they took.
    this.#current = snapshot;
    this.#publishedTicket = ticket;
    this.#failures = 0;
    this.#lastError = undefined;
    this.emit('reloaded', snapshot, previous);
    return snapshot;
  }

  #fail(error: S3SyncError): S3SyncError {
    this.#failures++;
    this.#lastError = error;
    this.emit('reload_failed', error, this.#current);
    return error;
  }
}
