import { dirname } from 'node:path';
import type { Message } from '@aws-sdk/client-sqs';
import { sweepTempFiles } from '../download/download.ts';
import { checkExpectedBucketOwner } from '../download/options.ts';
import { ClosedError, isS3SyncError, type S3SyncError } from '../errors.ts';
import { TypedEvents } from '../events.ts';
import { defaultRetryDelaySeconds, SqsListener } from '../sqs/listener.ts';
import type { HandlerContext } from '../sqs/types.ts';
import { JsonFileStore } from '../store/json-file-store.ts';
import type { ReloadableStore } from '../store/types.ts';
import type { WithSchema } from '../store/validator.ts';
import { type S3Endpoint, type S3Location, toS3Location } from '../url/s3-url.ts';
import { checkOptionalInteger, checkOptionalPositive } from '../validate.ts';
import { Coalescer, type Outcome } from './coalescer.ts';
import { asSyncError, checkPermanentFailure, isPermanentFailure, sendToDeadLetterQueue } from './failures.ts';
import { decodeUpdates } from './messages.ts';
import { checkAllowList, isAllowed } from './policy.ts';
import { UpdateRunner } from './runner.ts';
import type { AnnouncedUpdate, S3SyncEventMap, S3SyncHealth, S3SyncOptions, S3SyncState, SkipReason } from './types.ts';

export { isPermanentFailure } from './failures.ts';

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 10;
const DEFAULT_PERMANENT_RETRY_DELAY_SECONDS = 900;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;
// Retries of a start-up fetch that failed transiently while old data was served: 1 s, doubling.
const START_RETRY_MIN_MS = 1_000;
const START_RETRY_MAX_MS = 60_000;

/**
 * The composed pipeline: an `SqsListener` whose handler decodes each message, applies the policy
 * (allow-list or fixed source; stale and duplicate events skipped), coalesces bursts, downloads
 * the object with `If-Match` on the announced ETag into the store (`downloadIntoStore`: validated
 * before it replaces the file, published after) and acknowledges the message. Create it with
 * {@link createS3Sync}.
 */
export class S3Sync<T = unknown> extends TypedEvents<S3SyncEventMap<T>> {
  /** The store the pipeline publishes into: read the data with `sync.store.get()`. */
  readonly store: ReloadableStore<T>;
  /** The file the pipeline keeps in step. */
  readonly target: string;
  readonly #options: S3SyncOptions<T>;
  readonly #ownsStore: boolean;
  readonly #source: S3Location | undefined;
  readonly #listener: SqsListener;
  readonly #coalescer: Coalescer;
  readonly #maxBytes: number;
  readonly #decodeOptions: { readonly endpoints?: readonly S3Endpoint[] };
  readonly #stopping = new AbortController();
  #state: S3SyncState = 'idle';
  #starting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #runner: UpdateRunner<T>;

  constructor(options: WithSchema<S3SyncOptions<T>, T>);
  constructor(options: S3SyncOptions<T>);
  constructor(options: S3SyncOptions<T>) {
    super();
    if (typeof options !== 'object' || options === null) throw new TypeError('Expected an options object');
    if (typeof options.s3?.client?.send !== 'function') throw new TypeError('Expected `s3.client` to be an S3Client');
    if (typeof options.sqs !== 'object' || options.sqs === null) {
      throw new TypeError('Expected `sqs` to be { client, queueUrl, … }');
    }
    if (typeof options.target !== 'string' || options.target === '') {
      throw new TypeError(`Expected \`target\` to be a file path, received ${String(options.target)}`);
    }
    if ((options.source === undefined) === (options.allow === undefined)) {
      throw new TypeError(
        options.source === undefined
          ? 'Expected `source` (one fixed object) or `allow` ({ buckets, keyPrefixes }): without either, a message could make the service fetch from any bucket'
          : 'Expected `source` or `allow`, not both: with a fixed source, messages only trigger a sync of it',
      );
    }
    if (options.allow !== undefined) checkAllowList(options.allow);
    if (options.store !== undefined && typeof options.store.stage !== 'function') {
      throw new TypeError('Expected `store` to be a ReloadableStore');
    }
    if (options.store !== undefined && options.validate !== undefined) {
      // The store validates with its own `validate`: this one would be ignored, unvalidated data served.
      throw new TypeError('Expected `validate` or `store`, not both: give your store its own `validate`');
    }
    checkOptionalPositive('maxBytes', options.maxBytes, true);
    checkExpectedBucketOwner(options.expectedBucketOwner);
    checkOptionalInteger('reconcileIntervalMs', options.reconcileIntervalMs, 0, MAX_TIMER_MS);
    // Under a minute, a message that can never succeed comes back almost at once: a hot loop.
    checkOptionalInteger('permanentRetryDelaySeconds', options.permanentRetryDelaySeconds, 60, 43_200);
    checkOptionalInteger('stopTimeoutMs', options.stopTimeoutMs, 0, MAX_TIMER_MS);
    checkPermanentFailure(options.permanentFailure);

    this.#options = options;
    this.#decodeOptions = options.endpoints === undefined ? {} : { endpoints: options.endpoints };
    this.#source = options.source === undefined ? undefined : toLocation(options.source, this.#decodeOptions);
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.target = options.target;
    this.#ownsStore = options.store === undefined;
    this.store =
      options.store ??
      new JsonFileStore<T>({
        path: options.target,
        maxBytes: this.#maxBytes,
        ...(options.validate === undefined ? {} : { validate: options.validate }),
      });
    this.#runner = new UpdateRunner<T>({
      s3Client: options.s3.client,
      store: this.store,
      target: this.target,
      maxBytes: this.#maxBytes,
      pinVersionId: options.pinVersionId,
      retry: options.retry,
      expectedBucketOwner: options.expectedBucketOwner,
      signal: this.#stopping.signal,
      emit: (event, ...args) => this.emit(event, ...args),
      onSuperseded: (update) => {
        this.#coalescer.submit({ bucket: update.bucket, key: update.key, origin: 'reconcile' }).catch(() => {});
      },
    });
    this.#coalescer = new Coalescer(
      (update) => this.#runner.apply(update),
      (dropped) => this.emit('update_skipped', dropped, 'coalesced'),
    );
    const { client, queueUrl, ...listenerOptions } = options.sqs;
    const retryDelay = listenerOptions.retryDelaySeconds ?? defaultRetryDelaySeconds;
    const permanentDelay = options.permanentRetryDelaySeconds ?? DEFAULT_PERMANENT_RETRY_DELAY_SECONDS;
    this.#listener = new SqsListener({
      // Handlers mostly wait for the one running download; more of them in flight is what lets
      // a burst of messages fold into one download of the newest.
      concurrency: DEFAULT_CONCURRENCY,
      ...listenerOptions,
      client,
      queueUrl,
      retryDelaySeconds: (receiveCount, error) => {
        if (isPermanentFailure(error)) return permanentDelay;
        // Cut by this sync's own stop (its deadline may fire just before the listener's): back to
        // the queue at once, for the next process, as the listener hands back at its deadline.
        if (this.#stopping.signal.aborted) return 0;
        return retryDelay(receiveCount, error);
      },
      handleMessage: (message, context) => this.#handle(message, context),
    });
  }

  /**
   * Where the sync is: `starting` until data is served, `degraded` after a failed update, and
   * while the local file is served during `start()`'s fetch of `source`.
   */
  get state(): S3SyncState {
    if (this.#state === 'starting' && this.store.health().ready) return 'degraded';
    if (this.#state !== 'ready') return this.#state;
    if (!this.store.health().ready) return 'starting';
    return this.#runner.failures > 0 || this.#listener.health().degraded ? 'degraded' : 'ready';
  }

  /** The SQS listener the pipeline runs (for its events and health). */
  get listener(): SqsListener {
    return this.#listener;
  }

  /**
   * Serves the local file at once when it exists and is valid, fetches `source` when set, then
   * starts the listener and the reconcile timer. Resolves when that is done; rejects (and stops)
   * when there is nothing to serve and `source` could not be fetched, or when `stop()` was called
   * meanwhile. Safe to call twice; a stopped sync cannot be started again.
   */
  start(): Promise<void> {
    if (this.#stopped !== undefined) return Promise.reject(new ClosedError('S3Sync was stopped; create a new one'));
    this.#starting ??= this.#start();
    return this.#starting;
  }

  /**
   * Stops the timers and the listener (in-flight messages finish, or are handed back after
   * `stopTimeoutMs`), aborts a download still running (no partial file is ever left), and
   * resolves when nothing runs. A start-up in progress is aborted at once. Safe to call twice.
   * The default store is closed (its data stays readable); a store you passed in is left open.
   */
  stop(): Promise<void> {
    this.#stopped ??= this.#stop();
    return this.#stopped;
  }

  /** JSON-safe state for a `/health` endpoint. */
  health(): S3SyncHealth {
    return {
      state: this.state,
      version: this.store.health().version,
      ...this.#runner.health(),
      listener: this.#listener.health(),
    };
  }

  async #start(): Promise<void> {
    const signal = this.#stopping.signal;
    const stoppedMeanwhile = () => {
      if (signal.aborted) throw new ClosedError('S3Sync was stopped while starting');
    };
    this.#state = 'starting';
    try {
      await sweepTempFiles(dirname(this.target)).catch(() => undefined);
      stoppedMeanwhile();
      if (!this.store.health().ready) {
        try {
          await this.store.load({ signal });
        } catch (error) {
          stoppedMeanwhile();
          // No file on first boot is the normal case: the first object will bring it.
          if (!isS3SyncError(error) || error.code !== 'ERR_NOT_FOUND') this.#runner.fail(error, {});
        }
      }
      stoppedMeanwhile();
      if (this.#source !== undefined) {
        try {
          await this.#coalescer.submit({ ...this.#source, origin: 'start' });
        } catch (error) {
          stoppedMeanwhile();
          if (!this.store.health().ready) throw error;
          // Serving the old data; a transient failure is retried until it clears.
          if (!isPermanentFailure(error)) this.#retryStartFetch(START_RETRY_MIN_MS);
        }
      }
      stoppedMeanwhile();
      this.#state = 'ready';
      this.#listener.start();
      this.#startReconcile();
      this.emit('started');
    } catch (error) {
      this.#state = 'stopped';
      this.#stopping.abort(error);
      throw error;
    }
  }

  async #stop(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    if (this.#state === 'starting') this.#stopping.abort(new ClosedError('S3Sync stopped'));
    const timeoutMs = this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    // Not unref'd: while stop() runs, it keeps the process alive, so a process that waits for
    // stop() cannot end (its loop empty, every socket closed) before the listener has settled.
    let deadline: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      deadline = setTimeout(() => {
        this.#stopping.abort(new ClosedError('stop() deadline reached'));
        resolve();
      }, timeoutMs);
    });
    try {
      await this.#starting?.catch(() => undefined);
      if (this.#listener.status !== 'idle') await this.#listener.stop({ timeoutMs: Math.max(1, timeoutMs) });
      this.#stopping.abort(new ClosedError('S3Sync stopped'));
      // A validate that ignores the abort may run on: it is left behind at the deadline. Its file
      // never replaces the target (the download checks the signal before the rename).
      await Promise.race([this.#coalescer.idle(), expired]);
      if (this.#ownsStore) await this.store.close();
    } finally {
      clearTimeout(deadline);
      for (const timer of this.#timers) clearTimeout(timer);
      this.#timers.clear();
      this.#state = 'stopped';
      this.emit('stopped');
    }
  }

  /** Runs `task` after `ms` unless stopped first; the timer never keeps the process alive. */
  #later(ms: number, task: () => void): void {
    if (this.#stopping.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopping.signal.aborted) task();
    }, ms);
    timer.unref();
    this.#timers.add(timer);
  }

  #retryStartFetch(delayMs: number): void {
    const source = this.#source;
    if (source === undefined) return;
    this.#later(delayMs, () => {
      this.#coalescer.submit({ ...source, origin: 'start' }).catch((error: unknown) => {
        if (!isPermanentFailure(error)) this.#retryStartFetch(Math.min(delayMs * 2, START_RETRY_MAX_MS));
      });
    });
  }

  #startReconcile(): void {
    const interval = this.#options.reconcileIntervalMs ?? 0;
    if (interval === 0) return;
    const tick = () => {
      const object = this.#source ?? this.#runner.current;
      if (object !== undefined) {
        // Failures are reported by #apply; the next tick tries again.
        this.#coalescer.submit({ bucket: object.bucket, key: object.key, origin: 'reconcile' }).catch(() => {});
      }
      this.#later(interval, tick);
    };
    this.#later(interval, tick);
  }

  async #handle(message: Message, context: HandlerContext): Promise<void> {
    let updates: AnnouncedUpdate[];
    try {
      updates = decodeUpdates(message.Body ?? '', message.MessageId, this.#decodeOptions);
    } catch (error) {
      // About no object: reported, but it says nothing of the data served (health unchanged).
      const failure = asSyncError(error);
      this.emit('update_failed', failure, { permanent: isPermanentFailure(failure) });
      return this.#settle(message, failure, context);
    }
    const work: Promise<Outcome>[] = [];
    for (const update of updates) {
      this.emit('update_received', update);
      const skip = this.#policy(update);
      if (skip !== undefined) this.emit('update_skipped', update, skip);
      else work.push(this.#coalescer.submit(update));
    }
    let permanent: S3SyncError | undefined;
    let transient: unknown;
    for (const result of await Promise.allSettled(work.map((w) => untilAborted(w, context.signal)))) {
      if (result.status === 'fulfilled') continue;
      if (isPermanentFailure(result.reason)) permanent = result.reason as S3SyncError;
      else transient ??= result.reason;
    }
    // A transient failure hands the whole message back: its objects are fetched again later.
    if (transient !== undefined) throw transient;
    if (permanent !== undefined) await this.#settle(message, permanent, context);
  }

  /** Applies `permanentFailure` to a message whose update cannot succeed. */
  async #settle(message: Message, failed: S3SyncError, context: HandlerContext): Promise<void> {
    const action = this.#options.permanentFailure ?? 'delete';
    if (action === 'delete') return;
    if (action === 'redrive') throw failed;
    try {
      await sendToDeadLetterQueue(this.#options.sqs.client, action.deadLetterQueueUrl, message, failed, context.signal);
    } catch {
      // Not copied: keep the message, handed back after the permanent failure's long delay.
      throw failed;
    }
  }

  /** Why `update` must not be fetched, or `undefined` when it may. */
  #policy(update: AnnouncedUpdate): SkipReason | undefined {
    if (update.removed === true) return 'removed';
    if (!this.#isAllowed(update)) return 'not-allowed';
    return this.#runner.freshness(update);
  }

  #isAllowed(update: AnnouncedUpdate): boolean {
    const source = this.#source;
    if (source !== undefined) return update.bucket === source.bucket && update.key === source.key;
    return this.#options.allow !== undefined && isAllowed(this.#options.allow, update.bucket, update.key);
  }
}

function toLocation(source: string | S3Location, options: { readonly endpoints?: readonly S3Endpoint[] }): S3Location {
  const location = toS3Location(source, options);
  if (location.bucket.startsWith('arn:')) {
    // S3 events name the bucket behind an access point, never the access point.
    throw new TypeError('Expected `source` to name a bucket, not an access point: events name the bucket behind it');
  }
  return { bucket: location.bucket, key: location.key };
}

/** Rejects with `signal.reason` when the handler's signal fires first (stop deadline, timeout). */
function untilAborted<V>(work: Promise<V>, signal: AbortSignal): Promise<V> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<V>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Creates the pipeline that keeps `target` (and the store serving it) in step with S3, told by
 * SQS. Call `start()`; read with `sync.store.get()`; report `sync.health()`; `stop()` on shutdown.
 */
export function createS3Sync<T = unknown>(options: WithSchema<S3SyncOptions<T>, T>): S3Sync<T>;
export function createS3Sync<T = unknown>(options: S3SyncOptions<T>): S3Sync<T>;
export function createS3Sync<T = unknown>(options: S3SyncOptions<T>): S3Sync<T> {
  return new S3Sync<T>(options);
}
