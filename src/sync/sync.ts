import { dirname } from 'node:path';
import { type Message, SendMessageCommand } from '@aws-sdk/client-sqs';
import { sweepTempFiles } from '../download/download.ts';
import { isS3SyncError, type S3SyncError } from '../errors.ts';
import { TypedEvents } from '../events.ts';
import { defaultRetryDelaySeconds, SqsListener } from '../sqs/listener.ts';
import type { HandlerContext } from '../sqs/types.ts';
import { JsonFileStore } from '../store/json-file-store.ts';
import type { ReloadableStore } from '../store/types.ts';
import { parseS3Url, type S3Endpoint, type S3Location } from '../url/s3-url.ts';
import { checkOptionalInteger, checkOptionalPositive } from '../validate.ts';
import { Coalescer, type Outcome } from './coalescer.ts';
import { downloadIntoStore } from './download-into-store.ts';
import { decodeUpdates } from './messages.ts';
import { AppliedVersions, checkAllowList, isAllowed, quoteEtag, unquoteEtag } from './policy.ts';
import type {
  AnnouncedUpdate,
  PermanentFailureAction,
  S3SyncEventMap,
  S3SyncHealth,
  S3SyncOptions,
  S3SyncState,
  SkipReason,
} from './types.ts';

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
const DEFAULT_CONCURRENCY = 10;
const DEFAULT_PERMANENT_RETRY_DELAY_SECONDS = 900;
const DEFAULT_STOP_TIMEOUT_MS = 30_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Failures a retry will not fix: the same object would fail the same way. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'ERR_VERIFY_FAILED',
  'ERR_NOT_FOUND',
  'ERR_ACCESS_DENIED',
  'ERR_TOO_LARGE',
  'ERR_MESSAGE',
  'ERR_S3_URL',
]);

/** True for a failure that a retry of the same message will not fix. */
export function isPermanentFailure(error: unknown): boolean {
  return isS3SyncError(error) && PERMANENT_CODES.has(error.code);
}

function checkPermanentFailure(action: PermanentFailureAction | undefined): void {
  if (action === undefined || action === 'delete' || action === 'redrive') return;
  if (typeof action === 'object' && action !== null && typeof action.deadLetterQueueUrl === 'string') {
    if (/^https?:\/\//.test(action.deadLetterQueueUrl)) return;
  }
  throw new TypeError(
    `Expected \`permanentFailure\` to be 'delete', 'redrive' or { deadLetterQueueUrl }, received ${JSON.stringify(action)}`,
  );
}

/** The outcome of one message, after all the objects it announced were dealt with. */
type MessageOutcome = { readonly failed?: S3SyncError };

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
  readonly #source: S3Location | undefined;
  readonly #listener: SqsListener;
  readonly #applied = new AppliedVersions();
  readonly #coalescer: Coalescer;
  readonly #maxBytes: number;
  readonly #decodeOptions: { readonly endpoints?: readonly S3Endpoint[] };
  #state: S3SyncState = 'idle';
  #stopping = new AbortController();
  #starting: Promise<void> | undefined;
  #stopped: Promise<void> | undefined;
  #reconcileTimer: NodeJS.Timeout | undefined;
  #current: AnnouncedUpdate | undefined;
  #etag: string | undefined;
  #lastSyncAt: Date | undefined;
  #lagMs: number | undefined;
  #lastError: S3SyncError | undefined;
  #failures = 0;

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
    if (options.source === undefined && options.allow === undefined) {
      throw new TypeError(
        'Expected `source` (one fixed object) or `allow` ({ buckets, keyPrefixes }): without either, a message could make the service fetch from any bucket',
      );
    }
    if (options.allow !== undefined) checkAllowList(options.allow);
    if (options.store !== undefined && typeof options.store.stage !== 'function') {
      throw new TypeError('Expected `store` to be a ReloadableStore');
    }
    checkOptionalPositive('maxBytes', options.maxBytes, true);
    checkOptionalInteger('reconcileIntervalMs', options.reconcileIntervalMs, 0, MAX_TIMER_MS);
    checkOptionalInteger('permanentRetryDelaySeconds', options.permanentRetryDelaySeconds, 0, 43_200);
    checkOptionalInteger('stopTimeoutMs', options.stopTimeoutMs, 0, MAX_TIMER_MS);
    checkPermanentFailure(options.permanentFailure);

    this.#options = options;
    this.#decodeOptions = options.endpoints === undefined ? {} : { endpoints: options.endpoints };
    this.#source = options.source === undefined ? undefined : toLocation(options.source, this.#decodeOptions);
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.target = options.target;
    this.store =
      options.store ??
      new JsonFileStore<T>({
        path: options.target,
        maxBytes: this.#maxBytes,
        ...(options.validate === undefined ? {} : { validate: options.validate }),
      });
    this.#coalescer = new Coalescer(
      (update) => this.#apply(update),
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
      retryDelaySeconds: (receiveCount, error) =>
        isPermanentFailure(error) ? permanentDelay : retryDelay(receiveCount, error),
      handleMessage: (message, context) => this.#handle(message, context),
    });
  }

  /** Where the sync is: `starting` until data is served, `degraded` after a failed update. */
  get state(): S3SyncState {
    if (this.#state !== 'ready') return this.#state;
    if (!this.store.health().ready) return 'starting';
    return this.#failures > 0 || this.#listener.health().degraded ? 'degraded' : 'ready';
  }

  /** The SQS listener the pipeline runs (for its events and health). */
  get listener(): SqsListener {
    return this.#listener;
  }

  /**
   * Serves the local file at once when it exists and is valid, fetches `source` when set, then
   * starts the listener and the reconcile timer. Resolves when that is done; rejects (and stops)
   * only when there is nothing to serve and `source` could not be fetched. Safe to call twice.
   */
  start(): Promise<void> {
    if (this.#starting !== undefined) return this.#starting;
    if (this.#state === 'stopped') return Promise.reject(new Error('S3Sync was stopped; create a new one'));
    this.#state = 'starting';
    this.#starting = this.#start();
    return this.#starting;
  }

  /**
   * Stops the reconcile timer and the listener (in-flight messages finish, or are handed back
   * after `stopTimeoutMs`), aborts a download still running (no partial file is ever left), and
   * resolves when nothing runs. Safe to call twice. A store the caller passed in is left open.
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
      ...(this.#etag === undefined ? {} : { etag: this.#etag }),
      ...(this.#lastSyncAt === undefined ? {} : { lastSyncAt: this.#lastSyncAt.toISOString() }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError.toJSON() }),
      consecutiveFailures: this.#failures,
      ...(this.#lagMs === undefined ? {} : { lagMs: this.#lagMs }),
      listener: this.#listener.health(),
    };
  }

  async #start(): Promise<void> {
    try {
      await sweepTempFiles(dirname(this.target)).catch(() => undefined);
      if (!this.store.health().ready) {
        try {
          await this.store.load({ signal: this.#stopping.signal });
        } catch (error) {
          // No file on first boot is the normal case: the first object will bring it.
          if (!isS3SyncError(error) || error.code !== 'ERR_NOT_FOUND') this.#fail(error as S3SyncError, {});
        }
      }
      if (this.#source !== undefined) {
        try {
          await this.#coalescer.submit({ ...this.#source, origin: 'start' });
        } catch (error) {
          if (!this.store.health().ready) throw error;
        }
      }
      if (this.#stopping.signal.aborted) return;
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
    clearInterval(this.#reconcileTimer);
    this.#reconcileTimer = undefined;
    const timeoutMs = this.#options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
    const deadline = setTimeout(() => this.#stopping.abort(new Error('stop() deadline reached')), timeoutMs);
    deadline.unref();
    try {
      await this.#starting?.catch(() => undefined);
      if (this.#listener.status !== 'idle') await this.#listener.stop({ timeoutMs: Math.max(1, timeoutMs) });
      this.#stopping.abort(new Error('S3Sync stopped'));
      await this.#coalescer.idle();
    } finally {
      clearTimeout(deadline);
      this.#state = 'stopped';
      this.emit('stopped');
    }
  }

  #startReconcile(): void {
    const interval = this.#options.reconcileIntervalMs ?? 0;
    if (interval === 0) return;
    this.#reconcileTimer = setInterval(() => {
      const object = this.#source ?? this.#current;
      if (object === undefined || this.#stopping.signal.aborted) return;
      this.#coalescer.submit({ bucket: object.bucket, key: object.key, origin: 'reconcile' }).catch(() => undefined); // reported as update_failed by #apply
    }, interval);
    this.#reconcileTimer.unref();
  }

  async #handle(message: Message, context: HandlerContext): Promise<void> {
    const messageId = message.MessageId;
    let updates: AnnouncedUpdate[];
    try {
      updates = decodeUpdates(message.Body ?? '', messageId, this.#decodeOptions);
    } catch (error) {
      this.#fail(error as S3SyncError, {});
      return this.#settle(message, { failed: error as S3SyncError }, context);
    }
    const work: Promise<Outcome>[] = [];
    for (const update of updates) {
      this.emit('update_received', update);
      const skip = this.#policy(update);
      if (skip !== undefined) this.emit('update_skipped', update, skip);
      else work.push(this.#coalescer.submit(update));
    }
    const outcome: { failed?: S3SyncError } = {};
    let transient: unknown;
    for (const result of await Promise.allSettled(work.map((w) => untilAborted(w, context.signal)))) {
      if (result.status === 'fulfilled') continue;
      if (isPermanentFailure(result.reason)) outcome.failed = result.reason as S3SyncError;
      else transient ??= result.reason;
    }
    // A transient failure hands the whole message back: its objects are fetched again later.
    if (transient !== undefined) throw transient;
    return this.#settle(message, outcome, context);
  }

  /** Acknowledges a message, or applies `permanentFailure` to one whose update cannot succeed. */
  async #settle(message: Message, outcome: MessageOutcome, context: HandlerContext): Promise<void> {
    if (outcome.failed === undefined) return;
    const action = this.#options.permanentFailure ?? 'delete';
    if (action === 'delete') return;
    if (action === 'redrive') throw outcome.failed;
    await this.#options.sqs.client.send(
      new SendMessageCommand({
        QueueUrl: action.deadLetterQueueUrl,
        MessageBody: message.Body ?? '',
        MessageAttributes: {
          's3-sqs-sync-error-code': { DataType: 'String', StringValue: outcome.failed.code },
          ...(message.MessageId === undefined
            ? {}
            : { 's3-sqs-sync-message-id': { DataType: 'String', StringValue: message.MessageId } }),
        },
      }),
      { abortSignal: context.signal },
    );
  }

  /** Why `update` must not be fetched, or `undefined` when it may. */
  #policy(update: AnnouncedUpdate): SkipReason | undefined {
    if (update.removed === true) return 'removed';
    if (!this.#isAllowed(update)) return 'not-allowed';
    return this.#applied.check(update);
  }

  #isAllowed(update: AnnouncedUpdate): boolean {
    const source = this.#source;
    if (source !== undefined && update.bucket === source.bucket && update.key === source.key) return true;
    return this.#options.allow !== undefined && isAllowed(this.#options.allow, update.bucket, update.key);
  }

  /** One run of the coalescer: fetch `update` into the store, or say why not. */
  async #apply(update: AnnouncedUpdate): Promise<Outcome> {
    if (this.#stopping.signal.aborted) throw this.#stopping.signal.reason;
    // Something newer may have been applied while this update waited.
    const skip = update.origin === 'message' ? this.#applied.check(update) : undefined;
    if (skip !== undefined) return { status: 'skipped', reason: skip };
    const known = this.#applied.get(update);
    const started = performance.now();
    try {
      const result = await downloadIntoStore<T>({
        client: this.#options.s3.client,
        store: this.store,
        source: {
          bucket: update.bucket,
          key: update.key,
        },
        target: this.target,
        maxBytes: this.#maxBytes,
        signal: this.#stopping.signal,
        ...(update.eTag === undefined ? {} : { ifMatch: quoteEtag(update.eTag) }),
        ...(update.eTag === undefined && known?.eTag !== undefined ? { ifNoneMatch: quoteEtag(known.eTag) } : {}),
        ...(this.#options.pinVersionId === true && update.versionId !== undefined
          ? { versionId: update.versionId }
          : {}),
        ...(this.#options.retry === undefined ? {} : { retry: this.#options.retry }),
        ...(this.#options.expectedBucketOwner === undefined
          ? {}
          : { expectedBucketOwner: this.#options.expectedBucketOwner }),
      });
      if (result.status === 'not-modified') {
        this.#succeeded();
        this.emit('update_skipped', update, 'not-modified');
        return { status: 'skipped', reason: 'not-modified' };
      }
      const { download, snapshot } = result;
      this.#applied.record({
        bucket: update.bucket,
        key: update.key,
        eTag: download.etag,
        ...(download.versionId === undefined ? {} : { versionId: download.versionId }),
        ...(update.sequencer === undefined ? {} : { sequencer: update.sequencer }),
      });
      const now = Date.now();
      const lagMs = update.eventTime === undefined ? undefined : Math.max(0, now - update.eventTime.getTime());
      this.#current = update;
      this.#etag = unquoteEtag(download.etag);
      this.#lastSyncAt = new Date(now);
      if (lagMs !== undefined) this.#lagMs = lagMs;
      this.#succeeded();
      this.emit('update_applied', {
        update,
        snapshot,
        version: snapshot.version,
        etag: download.etag,
        bytes: download.bytes,
        durationMs: performance.now() - started,
        ...(lagMs === undefined ? {} : { lagMs }),
      });
      return { status: 'applied' };
    } catch (error) {
      if (isS3SyncError(error) && error.code === 'ERR_PRECONDITION') {
        // The object changed after this event was sent: the newer object's own event follows.
        this.emit('update_skipped', update, 'superseded');
        return { status: 'skipped', reason: 'superseded' };
      }
      if (this.#stopping.signal.aborted) throw error;
      this.#fail(error as S3SyncError, { update });
      throw error;
    }
  }

  #succeeded(): void {
    this.#failures = 0;
    this.#lastError = undefined;
  }

  #fail(error: S3SyncError, info: { readonly update?: AnnouncedUpdate }): void {
    this.#failures += 1;
    this.#lastError = isS3SyncError(error) ? error : undefined;
    this.emit('update_failed', error, { ...info, permanent: isPermanentFailure(error) });
  }
}

function toLocation(source: string | S3Location, options: { readonly endpoints?: readonly S3Endpoint[] }): S3Location {
  const location = typeof source === 'string' ? parseS3Url(source, options) : source;
  if (typeof location?.bucket !== 'string' || typeof location.key !== 'string' || location.key === '') {
    throw new TypeError('Expected `source` to be an S3 URL or an S3Location with a bucket and a key');
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
export function createS3Sync<T = unknown>(options: S3SyncOptions<T>): S3Sync<T> {
  return new S3Sync<T>(options);
}
