import { ListQueueTagsCommand, type SQSClient, TagQueueCommand } from '@aws-sdk/client-sqs';
import { NotFoundError } from 's3-sqs-sync';
// Only constants and checks of the shared module: nothing that would bundle a second copy of the
// library's error classes into the command (which loads the library by its own name).
import { checkClient, checkSignal, isQueueMissing, REPLICA_ROLE, REPLICA_TAGS } from '../sqs/replica-common.ts';

/**
 * Keeps the `s3-sqs-sync:last-seen` tag of a queue made by `replica-queue create` fresh while
 * `sync` consumes it. Without it a scheduled `replica-queue sweep` takes a long-lived pod for a
 * dead one and deletes the queue it is still reading.
 */

/** The same period as `createReplicaQueue`'s own heartbeat, so one `--older-than-ms` fits both. */
export const DEFAULT_REPLICA_HEARTBEAT_INTERVAL_MS = 300_000;

export interface ReplicaHeartbeatOptions {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /**
   * How often to refresh the tag, in milliseconds. A sweep's `--older-than-ms` must exceed it.
   * @defaultValue 300000 (5 minutes)
   */
  readonly intervalMs?: number | undefined;
  /**
   * Called with a failed ListQueueTags or TagQueue: the SDK's error, or `NotFoundError`
   * (`ERR_NOT_FOUND`) when the queue no longer exists (a sweep deleted it: nothing will arrive on
   * it again). A failure never stops the heartbeat: the next tick tries again.
   * @defaultValue a process warning
   */
  readonly onError?: ((error: unknown) => void) | undefined;
  /** Aborts the first ListQueueTags (the promise rejects with the abort) and stops every later tick. */
  readonly signal?: AbortSignal | undefined;
}

export interface ReplicaHeartbeat {
  /** False while the queue's tags have not been read yet: each tick tries again. */
  readonly isReplicaQueue: boolean;
  /** Stops the timer. Safe to call twice. */
  stop(): void;
}

function warn(error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`Replica queue heartbeat failed: ${message}`, { code: 'S3_SQS_SYNC_REPLICA_HEARTBEAT' });
}

function validate(options: ReplicaHeartbeatOptions): void {
  checkClient('sqs', options.sqs);
  checkSignal(options.signal);
  if (typeof options.queueUrl !== 'string' || options.queueUrl === '') {
    throw new TypeError(`Expected \`queueUrl\` to be a queue URL, received ${String(options.queueUrl)}`);
  }
  const { intervalMs } = options;
  if (intervalMs !== undefined && (!Number.isSafeInteger(intervalMs) || intervalMs < 1)) {
    throw new RangeError(`Expected \`intervalMs\` to be a positive integer, received ${String(intervalMs)}`);
  }
  if (options.onError !== undefined && typeof options.onError !== 'function') {
    throw new TypeError(`Expected \`onError\` to be a function, received ${String(options.onError)}`);
  }
}

/**
 * Reads the queue's tags. A replica queue (tagged `s3-sqs-sync:role=replica-queue`) gets its
 * `last-seen` tag refreshed now and every `intervalMs` on an unref'd timer; a queue whose tags say
 * it is not one is left alone and `undefined` is returned. When the tags cannot be read (a 503, a
 * throttle, no `sqs:ListQueueTags` permission) `onError` is told and each tick reads them again
 * until an answer comes: a sidecar on a plain queue must not fail to start for a permission it
 * never needed, and one failed read must not leave a replica queue without its heartbeat, for a
 * sweep to delete under a live sidecar.
 */
export async function startReplicaHeartbeat(options: ReplicaHeartbeatOptions): Promise<ReplicaHeartbeat | undefined> {
  validate(options);
  const { sqs, queueUrl, signal } = options;
  const onError = options.onError ?? warn;
  const report = (error: unknown): void => {
    try {
      onError(error);
    } catch {
      // A throwing reporter must not become an unhandled rejection.
    }
  };
  const missing = (error: unknown): unknown =>
    isQueueMissing(error)
      ? new NotFoundError(`Replica queue ${queueUrl} no longer exists (deleted by a sweep?)`, { cause: error })
      : error;
  const sendOptions = signal === undefined ? {} : { abortSignal: signal };

  /** `true`: a replica queue; `false`: not one; `undefined`: the tags could not be read this time. */
  const readRole = async (): Promise<boolean | undefined> => {
    try {
      const listed = await sqs.send(new ListQueueTagsCommand({ QueueUrl: queueUrl }), sendOptions);
      return listed.Tags?.[REPLICA_TAGS.role] === REPLICA_ROLE;
    } catch (error) {
      if (signal?.aborted) throw error;
      report(missing(error));
      return undefined;
    }
  };

  let replica = await readRole();
  if (replica === false) return undefined;

  let timer: ReturnType<typeof setInterval> | undefined;
  let inFlight = false;
  let stopped = false;
  const stop = (): void => {
    stopped = true;
    clearInterval(timer);
    signal?.removeEventListener('abort', stop);
  };
  const tick = async (): Promise<void> => {
    if (replica === undefined) {
      replica = await readRole();
      if (replica === false) {
        stop();
        return;
      }
      if (replica === undefined || stopped) return;
    }
    try {
      await sqs.send(
        new TagQueueCommand({ QueueUrl: queueUrl, Tags: { [REPLICA_TAGS.lastSeen]: new Date().toISOString() } }),
        sendOptions,
      );
    } catch (error) {
      if (!signal?.aborted) report(missing(error));
    }
  };
  const touch = (): void => {
    // A slow call must not pile up calls behind it.
    if (inFlight || stopped) return;
    inFlight = true;
    tick()
      .catch(() => undefined) // only an abort gets here, and an abort is a stop
      .finally(() => {
        inFlight = false;
      });
  };
  if (replica === true) touch();
  timer = setInterval(touch, options.intervalMs ?? DEFAULT_REPLICA_HEARTBEAT_INTERVAL_MS);
  timer.unref();
  signal?.addEventListener('abort', stop, { once: true });
  return {
    get isReplicaQueue() {
      return replica === true;
    },
    stop,
  };
}
