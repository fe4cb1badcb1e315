import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readdir, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Message } from '@aws-sdk/client-sqs';
import type { AllowList, AnnouncedObject, HandlerContext, Logger } from 's3-sqs-sync';
import {
  compareSequencers,
  decodeSyncMessage,
  downloadS3Object,
  isPermanentFailure,
  isS3SyncError,
  isValidBucketName,
} from 's3-sqs-sync';
import { analyzeTextFile, type TextStats } from './analyze.ts';

/** One processed (or refused) upload, as `/results` serves it. */
export interface UploadResult {
  /** Stable for one object version: a hash of `s3://bucket/key` and the ETag. */
  readonly id: string;
  /** `s3://bucket/key` */
  readonly url: string;
  readonly bucket: string;
  readonly key: string;
  /** The ETag without quotes (as announced, or as S3 answered when the message named none). */
  readonly etag: string;
  /** The object version S3 answered with, in a versioned bucket. */
  readonly versionId?: string;
  readonly status: 'processed' | 'failed';
  /** Set for `processed`. */
  readonly stats?: TextStats;
  /** Set for `failed`: why the upload was refused (a retry would not help). */
  readonly error?: { readonly code: string; readonly message: string };
  readonly processedAt: string;
  /** Set once a removal of the object was announced. */
  deletedAt?: string;
}

/** Why an announced object was not fetched. */
export type SkipReason = 'not-allowed' | 'duplicate' | 'stale' | 'superseded';

export interface UploadProcessorEvents {
  /** A result was recorded (processed or failed). */
  result: [UploadResult];
  /** A removal was announced; `marked` results now carry `deletedAt`. */
  removed: [{ readonly url: string; readonly marked: number }];
  /** An announced object was acknowledged without being fetched. */
  skipped: [{ readonly url: string; readonly reason: SkipReason }];
  /** A message that announces nothing readable was acknowledged and dropped. */
  rejected: [{ readonly messageId: string; readonly error: Error }];
  /**
   * The oldest result of an object was dropped for `maxResults`, and the work on that object
   * queued at the time is done; its copy was removed unless a newer result refers to it.
   */
  evicted: [{ readonly url: string; readonly copyRemoved: boolean }];
}

export interface UploadProcessorOptions {
  readonly s3: S3Client;
  /** Where objects are downloaded to; it must exist. */
  readonly workDir: string;
  /** Buckets (and key prefixes) objects may come from; any other is never fetched. */
  readonly allow: AllowList;
  /**
   * Largest object fetched, in bytes.
   * @defaultValue 10 MiB
   */
  readonly maxBytes?: number;
  /**
   * Results kept in memory; the oldest go first.
   * @defaultValue 1000
   */
  readonly maxResults?: number;
  /** @defaultValue silent */
  readonly logger?: Logger;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;
const DEFAULT_MAX_RESULTS = 1000;
// Objects of one message handled at once: a message may announce hundreds.
const OBJECTS_AT_ONCE = 4;

/**
 * The message handler and the results it records. `handleMessage` is given to an `SqsListener`:
 * it resolves once every object the message announced is dealt with (processed, refused, or
 * skipped), and throws only for failures a retry can fix, so SQS delivers the message again.
 */
export class UploadProcessor extends EventEmitter<UploadProcessorEvents> {
  readonly #s3: S3Client;
  readonly #workDir: string;
  readonly #allow: AllowList;
  readonly #maxBytes: number;
  readonly #maxResults: number;
  readonly #logger: Logger;
  /** In insertion order, so the first entry is the oldest. */
  readonly #results = new Map<string, UploadResult>();
  /** The newest sequencer handled per object, to skip events S3 ordered before it. */
  readonly #sequencers = new Map<string, string>();
  /** Per object with a copy in the work directory, the version id it holds (`undefined`: none named). */
  readonly #copies = new Map<string, string | undefined>();
  /** Per object, the tail of its work: events of one key run one after another. */
  readonly #queues = new Map<string, Promise<void>>();

  constructor(options: UploadProcessorOptions) {
    super();
    this.#s3 = options.s3;
    this.#workDir = options.workDir;
    this.#allow = options.allow;
    this.#maxBytes = positiveInteger('maxBytes', options.maxBytes ?? DEFAULT_MAX_BYTES);
    this.#maxResults = positiveInteger('maxResults', options.maxResults ?? DEFAULT_MAX_RESULTS);
    this.#logger = options.logger ?? {};
    const buckets: unknown = options.allow?.buckets;
    if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b) => isValidBucketName(b))) {
      throw new TypeError(
        `Expected \`allow.buckets\` to be a non-empty list of bucket names, received ${JSON.stringify(buckets)}`,
      );
    }
  }

  /** Newest first. */
  results(): UploadResult[] {
    return [...this.#results.values()].reverse();
  }

  result(id: string): UploadResult | undefined {
    return this.#results.get(id);
  }

  get size(): number {
    return this.#results.size;
  }

  readonly handleMessage = async (message: Message, { signal }: HandlerContext): Promise<void> => {
    let announced: AnnouncedObject[];
    try {
      announced = decodeSyncMessage(message.Body ?? '');
    } catch (error) {
      if (!isS3SyncError(error) || error.code !== 'ERR_MESSAGE') throw error;
      // A body that does not decode will not decode next time either: acknowledge it.
      this.#logger.warn?.({ err: error.toJSON(), messageId: message.MessageId }, 'message refused');
      this.emit('rejected', { messageId: message.MessageId ?? '', error });
      return;
    }
    const outcomes = await settleEach(announced, OBJECTS_AT_ONCE, (object) =>
      this.#serially(`s3://${object.bucket}/${object.key}`, (url) => this.#handleObject(url, object, signal)),
    );
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    // The objects that succeeded are recorded; on redelivery they are skipped as duplicates.
    if (failed !== undefined) throw failed.reason;
  };

  /** Runs `task` after all earlier work on the object `url`: its events, and removals of its copy. */
  #serially(url: string, task: (url: string) => Promise<void>): Promise<void> {
    const previous = this.#queues.get(url) ?? Promise.resolve();
    const run = previous.then(() => task(url));
    const tail = run.catch(() => {});
    this.#queues.set(url, tail);
    void tail.then(() => {
      if (this.#queues.get(url) === tail) this.#queues.delete(url);
    });
    return run;
  }

  async #handleObject(url: string, object: AnnouncedObject, signal: AbortSignal): Promise<void> {
    if (!this.#isAllowed(object)) return this.#skip(url, 'not-allowed');
    // S3 orders the events of one key by sequencer: an older one is stale, the same one is a
    // redelivery (SQS delivers at least once). A newer one is handled even when it names an ETag
    // seen before: content put back after a change, or after a removal, is a new version.
    const order = this.#orderOf(url, object.sequencer);
    if (order !== undefined && order < 0) return this.#skip(url, 'stale');
    if (order === 0) return this.#skip(url, 'duplicate');
    if (object.kind === 'removed') {
      this.#noteSequencer(url, object.sequencer);
      return this.#markRemoved(url, object);
    }
    if (order === undefined && object.eTag !== undefined) {
      // No sequencer to go by: the same ETag again is taken for a redelivery, unless removed since.
      const seen = this.#results.get(resultId(url, object.eTag));
      if (seen !== undefined && seen.deletedAt === undefined) {
        this.#noteSequencer(url, object.sequencer);
        return this.#skip(url, 'duplicate');
      }
    }

    const target = join(this.#workDir, fileName(url));
    let stats: TextStats;
    let etag: string;
    let versionId: string | undefined;
    try {
      const downloaded = await downloadS3Object({
        client: this.#s3,
        // A URL that names a version asks for that version; an event's version is kept to by ETag
        // (If-Match), which needs no s3:GetObjectVersion.
        source: {
          bucket: object.bucket,
          key: object.key,
          ...(object.source === 'url' && object.versionId !== undefined ? { versionId: object.versionId } : {}),
        },
        target,
        // The object the event announced, not whatever the key holds by the time we ask.
        ...(object.eTag === undefined ? {} : { ifMatch: `"${object.eTag}"` }),
        maxBytes: this.#maxBytes,
        // Counting the temp file means a refused file never lands in the work directory.
        verify: (tempPath, info, context) =>
          analyzeTextFile(tempPath, { key: object.key, contentType: info.contentType, signal: context.signal }),
        signal,
      });
      if (downloaded.status !== 'downloaded' || downloaded.verified === undefined) {
        throw new Error(`unexpected download result for ${url}`);
      }
      stats = downloaded.verified;
      etag = downloaded.etag.replaceAll('"', '');
      versionId = downloaded.versionId;
    } catch (error) {
      if (isS3SyncError(error) && error.code === 'ERR_PRECONDITION') {
        // Overwritten since the event: the newer version's own event will bring it.
        this.#noteSequencer(url, object.sequencer);
        return this.#skip(url, 'superseded');
      }
      // Stopping, or a failure a retry may fix: SQS delivers the message again.
      if (signal.aborted || !isPermanentFailure(error)) throw error;
      this.#noteSequencer(url, object.sequencer);
      const etagOfFailure = object.eTag ?? '';
      return this.#record({
        ...this.#base(url, object, etagOfFailure),
        status: 'failed',
        error: this.#describe(error),
      });
    }
    this.#noteSequencer(url, object.sequencer);
    this.#copies.set(url, versionId);
    this.#record({ ...this.#base(url, object, etag, versionId), status: 'processed', stats });
  }

  #base(url: string, object: AnnouncedObject, etag: string, versionId = object.versionId) {
    return {
      id: resultId(url, etag),
      url,
      bucket: object.bucket,
      key: object.key,
      etag,
      ...(versionId === undefined ? {} : { versionId }),
      processedAt: new Date().toISOString(),
    };
  }

  /** -1 older, 0 the same, 1 newer than the newest sequencer handled for `url`; `undefined`: no way to tell. */
  #orderOf(url: string, sequencer: string | undefined): number | undefined {
    const newest = this.#sequencers.get(url);
    if (sequencer === undefined || newest === undefined) return undefined;
    return Math.sign(compareSequencers(sequencer, newest));
  }

  /** An error as a result shows it: the file-system layout of this host is not for API clients. */
  #describe(error: unknown): { code: string; message: string } {
    const message = error instanceof Error ? error.message : String(error);
    return {
      code: isS3SyncError(error) ? error.code : 'ERR_UNKNOWN',
      message: message.split(this.#workDir).join('<work dir>'),
    };
  }

  #isAllowed({ bucket, key }: AnnouncedObject): boolean {
    if (!this.#allow.buckets.includes(bucket)) return false;
    const prefixes = this.#allow.keyPrefixes;
    return prefixes === undefined || prefixes.some((prefix) => key.startsWith(prefix));
  }

  #noteSequencer(url: string, sequencer: string | undefined): void {
    if (sequencer === undefined) return;
    this.#sequencers.delete(url);
    this.#sequencers.set(url, sequencer);
    // Bounded, but never forgetting an object that still has a result: without its sequencer, a
    // late older event for it could not be told stale. Results name at most maxResults objects.
    if (this.#sequencers.size <= 2 * this.#maxResults) return;
    const kept = new Set([...this.#results.values()].map((result) => result.url));
    for (const known of this.#sequencers.keys()) {
      if (this.#sequencers.size <= this.#maxResults) break;
      if (!kept.has(known)) this.#sequencers.delete(known);
    }
  }

  #skip(url: string, reason: SkipReason): void {
    this.#logger.info?.({ url, reason }, 'upload skipped');
    this.emit('skipped', { url, reason });
  }

  #record(result: UploadResult): void {
    this.#results.delete(result.id);
    this.#results.set(result.id, result);
    for (const evicted of trim(this.#results, this.#maxResults)) {
      // After the work on its object queued so far: a download of it may be about to record.
      // Nobody awaits it: a listener of `evicted` that throws is logged, not left unhandled.
      this.#serially(evicted.url, (url) => this.#forget(url)).catch((error: unknown) => {
        this.#logger.warn?.({ err: this.#describe(error), url: evicted.url }, 'eviction failed');
      });
    }
    this.#logger.info?.({ id: result.id, url: result.url, status: result.status }, 'upload recorded');
    this.emit('result', result);
  }

  /**
   * A removal that names a version and made no delete marker (in a versioned bucket, that
   * version was deleted for good) marks the results of that version only; one without a version,
   * or one that created a delete marker, marks them all. The copy goes when it holds the removed
   * version, or once no result of the object is left standing.
   */
  async #markRemoved(url: string, object: AnnouncedObject): Promise<void> {
    const oneVersion = object.versionId !== undefined && object.deleteMarker !== true;
    const deletedAt = new Date().toISOString();
    let marked = 0;
    let standing = 0;
    for (const result of this.#results.values()) {
      if (result.url !== url || result.deletedAt !== undefined) continue;
      if (oneVersion && result.versionId !== object.versionId) {
        standing++;
      } else {
        result.deletedAt = deletedAt;
        marked++;
      }
    }
    const copyIsRemoved = this.#copies.has(url) && this.#copies.get(url) === object.versionId;
    if (standing === 0 || (oneVersion && copyIsRemoved)) {
      this.#copies.delete(url);
      await rm(join(this.#workDir, fileName(url)), { force: true });
    }
    this.emit('removed', { url, marked });
  }

  /** Removes the copy of an evicted result's object, unless a result still refers to it. */
  async #forget(url: string): Promise<void> {
    let copyRemoved = false;
    if (![...this.#results.values()].some((result) => result.url === url)) {
      this.#copies.delete(url);
      copyRemoved = await rm(join(this.#workDir, fileName(url))).then(
        () => true,
        (error: NodeJS.ErrnoException) => {
          // No copy (a failed result never wrote one): nothing was removed.
          if (error.code !== 'ENOENT') {
            this.#logger.warn?.({ err: this.#describe(error), url }, 'could not remove an evicted file');
          }
          return false;
        },
      );
    }
    this.emit('evicted', { url, copyRemoved });
  }
}

/**
 * Removes the copies an earlier run of the processor left in `workDir`: results live in memory
 * only, so no result refers to them any more. Only names {@link fileName} makes are touched.
 */
export async function removeEarlierCopies(workDir: string): Promise<number> {
  const entries = await readdir(workDir, { withFileTypes: true });
  // Files (and links, unlinked, never followed) with those names; a directory is left alone.
  const copies = entries.filter((entry) => COPY_NAME.test(entry.name) && !entry.isDirectory());
  const removed = await Promise.all(
    copies.map((entry) =>
      rm(join(workDir, entry.name), { force: true }).then(
        () => 1,
        () => 0,
      ),
    ),
  );
  return removed.reduce<number>((sum, one) => sum + one, 0);
}

/** Like `Promise.allSettled(items.map(task))`, with at most `limit` tasks running at once. */
export async function settleEach<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<PromiseSettledResult<void>[]> {
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new RangeError(`Expected \`limit\` to be a positive integer, received ${String(limit)}`);
  }
  const outcomes: PromiseSettledResult<void>[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      try {
        await task(items[index] as T);
        outcomes[index] = { status: 'fulfilled', value: undefined };
      } catch (reason) {
        outcomes[index] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return outcomes;
}

/** The id `/results/:id` takes: URL-safe, the same for the same object version. */
export function resultId(url: string, etag: string): string {
  return createHash('sha256').update(`${url}\n${etag}`).digest('base64url').slice(0, 22);
}

/**
 * The work-directory name of an object. Keys are chosen by whoever uploads, so none of a key
 * reaches the file system but a hash, and a short plain extension.
 */
export function fileName(url: string): string {
  const extension = extname(url);
  const safe = /^\.[A-Za-z0-9]{1,10}$/.test(extension) ? extension.toLowerCase() : '';
  return `${createHash('sha256').update(url).digest('hex').slice(0, 32)}${safe}`;
}

/** What {@link fileName} makes, and nothing else. */
const COPY_NAME = /^[0-9a-f]{32}(\.[a-z0-9]{1,10})?$/;

function trim<K, V>(map: Map<K, V>, max: number): V[] {
  const evicted: V[] = [];
  for (const [key, value] of map) {
    if (map.size <= max) break;
    map.delete(key);
    evicted.push(value);
  }
  return evicted;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new RangeError(`Expected \`${name}\` to be a positive integer, received ${String(value)}`);
  }
  return value;
}
