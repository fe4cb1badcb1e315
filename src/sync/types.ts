import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DownloadRetryOptions } from '../download/download.ts';
import type { S3SyncError, S3SyncErrorJSON } from '../errors.ts';
import type { SqsListenerHealth, SqsListenerOptions } from '../sqs/types.ts';
import type { ReloadableStore, StoreSnapshot } from '../store/types.ts';
import type { Validate } from '../store/validator.ts';
import type { S3Endpoint, S3Location } from '../url/s3-url.ts';
import type { AllowList } from './policy.ts';

/** The SQS side of {@link S3SyncOptions}: your client, the queue, and any `SqsListener` option. */
export interface S3SyncSqsOptions extends Omit<SqsListenerOptions, 'client' | 'queueUrl' | 'handleMessage'> {
  /** Your SQS client. */
  readonly client: SQSClient;
  /** This replica's own queue (one queue per replica: see docs/topology.md). */
  readonly queueUrl: string;
}

/** What to do with a message whose update failed for a reason a retry will not fix. */
export type PermanentFailureAction =
  /** Acknowledge it (delete): the failure is reported and in `health()`; a later update or the reconcile timer recovers. */
  | 'delete'
  /** Leave it to the queue's redrive policy: hand it back with a long delay (`permanentRetryDelaySeconds`). */
  | 'redrive'
  /** Send its body to this queue, then delete it. */
  | { readonly deadLetterQueueUrl: string };

/** Options for {@link createS3Sync}. */
export interface S3SyncOptions<T = unknown> {
  readonly sqs: S3SyncSqsOptions;
  readonly s3: {
    /** Your S3 client. */
    readonly client: S3Client;
  };
  /** The file the service serves: downloads replace it atomically, only once validated. */
  readonly target: string;
  /**
   * One fixed object to keep `target` in step with: messages only trigger a sync of it (a message
   * naming another object is skipped, `not-allowed`). Fetched by `start()`, and by the reconcile
   * timer. Give either `source` or `allow`, not both (construction throws with both or neither).
   */
  readonly source?: string | S3Location | undefined;
  /** Objects a message may name. Anything else is acknowledged, reported and never fetched. */
  readonly allow?: AllowList | undefined;
  /**
   * S3-compatible services (MinIO, LocalStack, R2, an emulator) whose URLs `source` and
   * `{ s3_url }` messages may use, as `parseS3Url` takes them. Never on by default.
   * @defaultValue AWS hosts only
   */
  readonly endpoints?: readonly S3Endpoint[] | undefined;
  /**
   * The store to publish into.
   * @defaultValue a `JsonFileStore` on `target` with `validate`
   */
  readonly store?: ReloadableStore<T> | undefined;
  /** For the default store: checks parsed data (a function that returns it or throws, or a Standard Schema). */
  readonly validate?: Validate<T> | undefined;
  /**
   * Refuse objects larger than this, in bytes (`ERR_TOO_LARGE`, before anything is written).
   * @defaultValue 512 MiB
   */
  readonly maxBytes?: number | undefined;
  /**
   * Send the announced `VersionId` with the download. Off by default: it needs
   * `s3:GetObjectVersion`; the download keeps to the announced object with `If-Match` on its
   * ETag either way.
   * @defaultValue false
   */
  readonly pinVersionId?: boolean | undefined;
  /**
   * Every this many milliseconds, a conditional GET (`If-None-Match`) of the last object applied
   * (or `source`), so a replica that missed a message converges. 0 turns it off.
   * @defaultValue 0
   */
  readonly reconcileIntervalMs?: number | undefined;
  /**
   * What to do with a message whose update failed permanently (not allowed content, `NoSuchKey`,
   * access denied, too large).
   * @defaultValue 'delete'
   */
  readonly permanentFailure?: PermanentFailureAction | undefined;
  /**
   * With `permanentFailure: 'redrive'`: the visibility delay, in seconds, before such a message
   * comes back (and, after the queue's `maxReceiveCount`, goes to its dead-letter queue).
   * @defaultValue 900
   */
  readonly permanentRetryDelaySeconds?: number | undefined;
  /**
   * The AWS account that must own the bucket (`ExpectedBucketOwner`): a bucket owned by another
   * account answers 403 (`ERR_ACCESS_DENIED`), so a deleted and re-created bucket name cannot
   * feed the service.
   */
  readonly expectedBucketOwner?: string | undefined;
  /** Retries of each download for transient failures (see `downloadS3Object`). */
  readonly retry?: DownloadRetryOptions | false | undefined;
  /**
   * How long `stop()` lets a running update finish before aborting it, in milliseconds.
   * @defaultValue 30000
   */
  readonly stopTimeoutMs?: number | undefined;
}

/** Where the sync is in its life. */
export type S3SyncState = 'idle' | 'starting' | 'ready' | 'degraded' | 'stopped';

/** Why an announced update was not applied. */
export type SkipReason =
  /** The object is outside `allow`, or is not `source`. */
  | 'not-allowed'
  /** An older event for an object already applied (by S3 `sequencer`). */
  | 'stale'
  /** The object applied already (same sequencer, version id or ETag). */
  | 'duplicate'
  /** The store refused this very object (same ETag) before: reported once, not fetched again. */
  | 'rejected'
  /** A newer announcement for the target arrived first; it is applied instead. */
  | 'coalesced'
  /** The object changed after the event (412 on `If-Match`): its own event follows. */
  | 'superseded'
  /** S3 answered 304: the object is what is served. */
  | 'not-modified'
  /** The object was deleted (`ObjectRemoved`): the served data is kept. */
  | 'removed';

/** An object a message (or the reconcile timer) announced. */
export interface AnnouncedUpdate {
  readonly bucket: string;
  readonly key: string;
  readonly eTag?: string;
  readonly versionId?: string;
  readonly sequencer?: string;
  /** When S3 says the change happened. */
  readonly eventTime?: Date;
  readonly size?: number;
  /** The object was deleted (`ObjectRemoved`): reported, never fetched, the served data kept. */
  readonly removed?: boolean;
  /** The SQS message, when there is one. */
  readonly messageId?: string;
  /** What asked for it. */
  readonly origin: 'message' | 'start' | 'reconcile';
}

/** What `update_applied` reports. */
export interface AppliedInfo<T> {
  readonly update: AnnouncedUpdate;
  readonly snapshot: StoreSnapshot<T>;
  readonly version: number;
  readonly etag: string;
  readonly bytes: number;
  /** From the start of the download to publish. */
  readonly durationMs: number;
  /** From the S3 event time to publish, when the event carried one. */
  readonly lagMs?: number;
}

/** Events of {@link S3Sync}, with their listener arguments. None of them is `'error'`. */
export interface S3SyncEventMap<T> {
  /** A message announced an object (before any policy check). */
  update_received: [update: AnnouncedUpdate];
  /** An announced update was acknowledged without fetching it. */
  update_skipped: [update: AnnouncedUpdate, reason: SkipReason];
  /** A new version of the data is served. */
  update_applied: [info: AppliedInfo<T>];
  /** An update failed; `permanent` says whether a retry can help. Reported once per failure. */
  update_failed: [error: S3SyncError, info: { readonly update?: AnnouncedUpdate; readonly permanent: boolean }];
  /** `start()` finished: the data is served (or, with no local file in allow mode, awaited). */
  started: [];
  /** `stop()` finished. */
  stopped: [];
}

/** What a `/health` endpoint needs. JSON-safe: `JSON.stringify(sync.health())` keeps everything. */
export interface S3SyncHealth {
  readonly state: S3SyncState;
  /** The store's snapshot version; 0 before any data. */
  readonly version: number;
  /** ETag of the object served, when it came from S3 in this process. */
  readonly etag?: string;
  /** When the last update was applied, ISO 8601. */
  readonly lastSyncAt?: string;
  readonly lastError?: S3SyncErrorJSON;
  /** Failed updates since the last success. */
  readonly consecutiveFailures: number;
  /** From the S3 event time to publish, for the last update applied from an event. */
  readonly lagMs?: number;
  /** The SQS listener's own health: `degraded` while receives fail (then so is the sync). */
  readonly listener: SqsListenerHealth;
}
