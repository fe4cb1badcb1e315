import type { S3SyncError } from '../errors.ts';

/** Where a snapshot's data came from. */
export interface SnapshotSource {
  /** The file the data was read from (for a staged update: the file it was published to). */
  readonly path?: string;
  readonly etag?: string;
  readonly versionId?: string;
}

/** One immutable version of the data. Readers keep the snapshot they took, whatever happens next. */
export interface StoreSnapshot<T> {
  /** 1 for the first load, then one more per published update. Never goes backwards. */
  readonly version: number;
  readonly data: T;
  readonly loadedAt: Date;
  readonly source?: SnapshotSource;
}

/** What a `/health` endpoint needs to know about a store. */
export interface StoreHealth {
  /** True once a load has succeeded: `get()` has data. */
  readonly ready: boolean;
  /** Version of the current snapshot; 0 before the first load. */
  readonly version: number;
  readonly loadedAt?: Date;
  /** The last failure (cleared by the next success). */
  readonly lastError?: S3SyncError;
  /** Failed loads, reloads and stages since the last success. */
  readonly consecutiveFailures: number;
}

/** Data read, parsed and validated, not yet visible to readers. */
export interface StagedUpdate<T> {
  readonly data: T;
  /**
   * Makes the data current: one reference swap, `version` + 1, `reloaded` emitted. Throws
   * `StaleUpdateError` (`ERR_STALE_UPDATE`) when something was published after `stage()` was
   * called (`reason: 'superseded'`: the store keeps the newer data) or when this update was
   * published already (`reason: 'published'`); after `close()` it throws `ERR_CLOSED`.
   */
  publish(): StoreSnapshot<T>;
}

/** Options for `reload` and `load`. */
export interface ReloadOptions {
  /** Stops waiting: the call rejects with `ERR_ABORTED`. A read shared with other callers goes on. */
  readonly signal?: AbortSignal | undefined;
}

/** Events of a store, with their listener arguments. */
export interface StoreEventMap<T> {
  /** A new snapshot was published (by a load, a reload or a staged update). */
  reloaded: [snapshot: StoreSnapshot<T>, previous: StoreSnapshot<T> | undefined];
  /** A load, reload or stage failed; the current snapshot was kept. */
  reload_failed: [error: S3SyncError, current: StoreSnapshot<T> | undefined];
}

/**
 * In-memory data, replaced as a whole by publishing a new immutable snapshot. Readers never wait
 * and never see half an update. Implementations: `JsonFileStore` and `createReloadableStore`; the
 * contract suite shipped as `s3-sqs-sync/testing` (`storeContract`) says what an implementation
 * must do.
 */
export interface ReloadableStore<T> {
  /** The current data, O(1). Throws `ERR_NOT_READY` before the first successful load. */
  get(): T;
  /** The current snapshot. Throws `ERR_NOT_READY` before the first successful load. */
  snapshot(): StoreSnapshot<T>;
  /** The first load. Rejects with the typed error when it fails (the store stays not ready). */
  load(options?: ReloadOptions): Promise<StoreSnapshot<T>>;
  /**
   * Re-reads the source and publishes it. Concurrent calls share one read; a call made while a
   * read is running gets the result of a read that starts after it. A failure keeps the current
   * snapshot, emits `reload_failed` and rejects with the typed error.
   */
  reload(options?: ReloadOptions): Promise<StoreSnapshot<T>>;
  /**
   * Reads, parses and validates a candidate file without publishing anything: the first phase of
   * an update whose file must be checked before it replaces the good one. A failure is reported
   * like a reload failure; one caused by `close()` rejects with `ERR_CLOSED` and is not counted.
   */
  stage(candidatePath: string, source?: SnapshotSource): Promise<StagedUpdate<T>>;
  health(): StoreHealth;
  on<E extends keyof StoreEventMap<T> & string>(event: E, listener: (...args: StoreEventMap<T>[E]) => void): this;
  once<E extends keyof StoreEventMap<T> & string>(event: E, listener: (...args: StoreEventMap<T>[E]) => void): this;
  off<E extends keyof StoreEventMap<T> & string>(event: E, listener: (...args: StoreEventMap<T>[E]) => void): this;
  /**
   * Stops reads in progress and removes listeners; a read waiting behind a running one never
   * starts. `get()` keeps returning the last data.
   */
  close(): Promise<void>;
}
