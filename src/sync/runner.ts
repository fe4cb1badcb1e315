import type { S3Client } from '@aws-sdk/client-s3';
import type { DownloadRetryOptions } from '../download/download.ts';
import { isS3SyncError, type S3SyncError, type S3SyncErrorContext } from '../errors.ts';
import type { ReloadableStore } from '../store/types.ts';
import type { Outcome } from './coalescer.ts';
import { downloadIntoStore } from './download-into-store.ts';
import { asSyncError, isPermanentFailure } from './failures.ts';
import { AppliedVersions, compareSequencers, quoteEtag, unquoteEtag } from './policy.ts';
import type { AnnouncedUpdate, S3SyncEventMap, S3SyncHealth, SkipReason } from './types.ts';

/** What an {@link UpdateRunner} needs from the pipeline's options, resolved once. */
export interface UpdateRunnerOptions<T> {
  readonly s3Client: S3Client;
  readonly store: ReloadableStore<T>;
  readonly target: string;
  readonly maxBytes: number;
  readonly pinVersionId?: boolean | undefined;
  readonly retry?: DownloadRetryOptions | false | undefined;
  readonly expectedBucketOwner?: string | undefined;
  /** Aborted when the pipeline stops: downloads in flight are abandoned, no partial file left. */
  readonly signal: AbortSignal;
  readonly emit: <E extends keyof S3SyncEventMap<T>>(event: E, ...args: S3SyncEventMap<T>[E]) => void;
  /** Called after a 412: the pipeline fetches the current object once. */
  readonly onSuperseded: (update: AnnouncedUpdate) => void;
}

/**
 * Applies one update at a time (the coalescer's run) and keeps what the pipeline knows of the
 * data it serves: the objects applied and refused, the served ETag, the last failure. Internal
 * part of `S3Sync`.
 */
export class UpdateRunner<T> {
  readonly #options: UpdateRunnerOptions<T>;
  readonly #applied = new AppliedVersions();
  readonly #store: ReloadableStore<T>;
  readonly #target: string;
  readonly #signal: AbortSignal;
  readonly #emit: UpdateRunnerOptions<T>['emit'];
  readonly #onSuperseded: (update: AnnouncedUpdate) => void;
  /** The object served, as the update that brought it. */
  #current: AnnouncedUpdate | undefined;
  #etag: string | undefined;
  #lastSyncAt: Date | undefined;
  #lagMs: number | undefined;
  #lastError: S3SyncError | undefined;
  /** The last failure reported, so a timer that meets it again does not report it again. */
  #lastFailure: string | undefined;
  #failures = 0;

  constructor(options: UpdateRunnerOptions<T>) {
    this.#options = options;
    this.#store = options.store;
    this.#target = options.target;
    this.#signal = options.signal;
    this.#emit = options.emit;
    this.#onSuperseded = options.onSuperseded;
  }

  /** The object last applied, for the reconcile timer. */
  get current(): AnnouncedUpdate | undefined {
    return this.#current;
  }

  /** Failed updates since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /** The runner's part of `S3Sync#health()`. */
  health(): Pick<S3SyncHealth, 'etag' | 'lastSyncAt' | 'lastError' | 'consecutiveFailures' | 'lagMs'> {
    return {
      ...(this.#etag === undefined ? {} : { etag: this.#etag }),
      ...(this.#lastSyncAt === undefined ? {} : { lastSyncAt: this.#lastSyncAt.toISOString() }),
      ...(this.#lastError === undefined ? {} : { lastError: this.#lastError.toJSON() }),
      consecutiveFailures: this.#failures,
      ...(this.#lagMs === undefined ? {} : { lagMs: this.#lagMs }),
    };
  }

  /** `stale`, `duplicate` or `rejected` when `update` brings nothing newer than what is served. */
  freshness(update: AnnouncedUpdate): SkipReason | undefined {
    const skip = this.#applied.check(update);
    if (skip === 'duplicate') {
      this.#applied.noteSequencer(update);
      this.#applied.noteSeen(update);
    }
    if (skip !== undefined) return skip;
    // Across objects (allow-lists with several keys) only event times order two updates.
    const current = this.#current;
    if (
      current !== undefined &&
      AppliedVersions.keyOf(current) !== AppliedVersions.keyOf(update) &&
      current.eventTime !== undefined &&
      update.eventTime !== undefined &&
      update.eventTime < current.eventTime
    ) {
      return 'stale';
    }
    return undefined;
  }

  /**
   * Sends `VersionId` only when the event is known to be newer than what is served: a version id
   * pins that version even when a newer one replaced it (If-Match on its own ETag cannot refuse
   * it), so an old event delivered late would roll the data back.
   */
  #pinVersion(update: AnnouncedUpdate): boolean {
    if (this.#options.pinVersionId !== true || update.versionId === undefined) return false;
    if (!this.#store.health().ready) return true;
    const known = this.#applied.get(update);
    if (known?.sequencer === undefined || update.sequencer === undefined) return false;
    // Newer than what is served, and than any event seen since: equal content put back later (a
    // duplicate by ETag, not applied) is still a newer version than this event's.
    const newest = [known.sequencer, known.newestSeen].filter((seen) => seen !== undefined);
    return newest.every((seen) => compareSequencers(update.sequencer as string, seen) > 0);
  }

  /** One run of the coalescer: fetch `update` into the store, or say why not. */
  async apply(update: AnnouncedUpdate): Promise<Outcome> {
    if (this.#signal.aborted) throw this.#signal.reason;
    // Something newer may have been applied while this update waited.
    const skip = update.origin === 'message' ? this.freshness(update) : undefined;
    if (skip !== undefined) {
      this.#emit('update_skipped', update, skip);
      return { status: 'skipped', reason: skip };
    }
    const known = this.#applied.get(update);
    // What this key last was, served or refused: a timer's fetch of the same object is a 304.
    const lastSeen = known?.rejectedETag ?? known?.eTag;
    const served = known?.eTag !== undefined && known.eTag === this.#etag;
    const started = performance.now();
    try {
      const result = await downloadIntoStore<T>({
        client: this.#options.s3Client,
        store: this.#store,
        source: { bucket: update.bucket, key: update.key },
        target: this.#target,
        maxBytes: this.#options.maxBytes,
        signal: this.#signal,
        ...(update.eTag === undefined ? {} : { ifMatch: quoteEtag(update.eTag) }),
        ...(update.eTag === undefined && lastSeen !== undefined ? { ifNoneMatch: quoteEtag(lastSeen) } : {}),
        ...(this.#pinVersion(update) ? { versionId: update.versionId as string } : {}),
        ...(this.#options.retry === undefined ? {} : { retry: this.#options.retry }),
        ...(this.#options.expectedBucketOwner === undefined
          ? {}
          : { expectedBucketOwner: this.#options.expectedBucketOwner }),
      });
      if (result.status === 'not-modified') {
        // Unchanged. Healthy again only if what is unchanged is what is served.
        if (served && lastSeen === known?.eTag) this.succeeded();
        this.#emit('update_skipped', update, 'not-modified');
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
      this.succeeded();
      this.#emit('update_applied', {
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
        // The object changed after this event was sent. Its own event should follow; one fetch
        // of the current object (no If-Match, so no 412) makes sure, even if that event is lost.
        this.#emit('update_skipped', update, 'superseded');
        this.#onSuperseded(update);
        return { status: 'skipped', reason: 'superseded' };
      }
      if (this.#signal.aborted) throw error;
      const failure = asSyncError(error);
      const refusedEtag = (failure as S3SyncErrorContext).etag;
      if (failure.code === 'ERR_VERIFY_FAILED' && isPermanentFailure(failure) && refusedEtag !== undefined) {
        this.#applied.reject(update, refusedEtag);
      }
      this.fail(failure, { update });
      throw failure;
    }
  }

  succeeded(): void {
    this.#failures = 0;
    this.#lastError = undefined;
    this.#lastFailure = undefined;
  }

  fail(error: unknown, info: { readonly update?: AnnouncedUpdate }): void {
    const failure = asSyncError(error);
    const update = info.update;
    const signature = `${update?.bucket}/${update?.key}|${(failure as S3SyncErrorContext).etag ?? ''}|${failure.code}`;
    // A timer meeting the failure it met last time (the same object refused, still missing)
    // does not report it again.
    if (update !== undefined && update.origin !== 'message' && signature === this.#lastFailure) return;
    this.#lastFailure = signature;
    this.#failures += 1;
    this.#lastError = failure;
    this.#emit('update_failed', failure, { ...info, permanent: isPermanentFailure(failure) });
  }
}
