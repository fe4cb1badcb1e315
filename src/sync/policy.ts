import { isValidBucketName } from '../url/s3-url.ts';

/** Which objects a message may make the pipeline fetch. */
export interface AllowList {
  /** Buckets objects may come from (exact names). */
  readonly buckets: readonly string[];
  /**
   * Key prefixes objects must start with; any key when absent. `''` allows every key.
   * @defaultValue every key
   */
  readonly keyPrefixes?: readonly string[] | undefined;
}

/** One object an update names: what a message announced, or the fixed source. */
export interface UpdateTarget {
  readonly bucket: string;
  readonly key: string;
  /** The object's ETag without quotes, as S3 events carry it. */
  readonly eTag?: string;
  readonly versionId?: string;
  /** S3's per-key ordering token: hex, of varying length. */
  readonly sequencer?: string;
}

/** Throws a TypeError naming `allow` when the allow-list is malformed. Internal. */
export function checkAllowList(allow: AllowList): void {
  if (typeof allow !== 'object' || allow === null || !Array.isArray(allow.buckets) || allow.buckets.length === 0) {
    throw new TypeError('Expected `allow.buckets` to be a non-empty array of bucket names');
  }
  for (const bucket of allow.buckets) {
    if (typeof bucket !== 'string' || !isValidBucketName(bucket)) {
      throw new TypeError(`Expected \`allow.buckets\` to hold bucket names, received ${JSON.stringify(bucket)}`);
    }
  }
  if (allow.keyPrefixes !== undefined) {
    if (!Array.isArray(allow.keyPrefixes) || allow.keyPrefixes.some((p) => typeof p !== 'string')) {
      throw new TypeError('Expected `allow.keyPrefixes` to be an array of strings');
    }
  }
}

/** True when the allow-list lets `bucket`/`key` be fetched. Internal. */
export function isAllowed(allow: AllowList, bucket: string, key: string): boolean {
  if (!allow.buckets.includes(bucket)) return false;
  return allow.keyPrefixes === undefined || allow.keyPrefixes.some((prefix) => key.startsWith(prefix));
}

/**
 * Orders two S3 sequencers of one key: negative when `a` is older. S3 documents them as hex
 * strings of varying length, compared after left-padding the shorter with zeros.
 */
export function compareSequencers(a: string, b: string): number {
  const width = Math.max(a.length, b.length);
  const left = a.toUpperCase().padStart(width, '0');
  const right = b.toUpperCase().padStart(width, '0');
  return left < right ? -1 : left > right ? 1 : 0;
}

/** `"abc"` and `abc` name the same ETag: S3 events omit the quotes the HTTP header carries. */
export function unquoteEtag(etag: string): string {
  return etag.length >= 2 && etag.startsWith('"') && etag.endsWith('"') ? etag.slice(1, -1) : etag;
}

/** The ETag as the `If-Match` / `If-None-Match` headers need it: quoted (weak tags kept as they are). */
export function quoteEtag(etag: string): string {
  return etag.startsWith('"') || etag.startsWith('W/') ? etag : `"${etag}"`;
}

/** Why an announced update is not fetched. */
export type StaleReason = 'stale' | 'duplicate' | 'rejected';

interface Tracked extends UpdateTarget {
  /** The ETag (unquoted) of the last object of this key the store refused. */
  readonly rejectedETag?: string;
  /**
   * The newest sequencer of any event seen for this key, one skipped as a duplicate by ETag
   * included: never used to call an event stale, only to refuse pinning an older version.
   */
  readonly newestSeen?: string;
}

// Keys remembered at most: enough for any allow-list in practice. A key forgotten only loses
// the cheap skip: its next event is fetched with If-Match, which is still safe.
const MAX_TRACKED_KEYS = 1000;

/**
 * Remembers, per object, the last update applied (and the last object refused), so that a stale
 * event (an older sequencer), a duplicate (the same sequencer, version id or ETag) or an object
 * already refused is recognised. Bounded: the least recently used keys are forgotten. Internal.
 */
export class AppliedVersions {
  readonly #tracked = new Map<string, Tracked>();

  static keyOf(target: { readonly bucket: string; readonly key: string }): string {
    return `${target.bucket}/${target.key}`;
  }

  /** `stale`, `duplicate` or `rejected` when `update` brings nothing new for its key. */
  check(update: UpdateTarget): StaleReason | undefined {
    const last = this.#tracked.get(AppliedVersions.keyOf(update));
    if (last === undefined) return undefined;
    if (update.sequencer !== undefined && last.sequencer !== undefined) {
      const order = compareSequencers(update.sequencer, last.sequencer);
      if (order < 0) return 'stale';
      if (order === 0) return 'duplicate';
    }
    // A newer sequencer for the bytes already served (a re-upload of the same content, or a
    // message claiming a sequencer it should not) is a duplicate: nothing to fetch, and its
    // sequencer is not remembered, so it cannot make later genuine events look stale.
    if (update.versionId !== undefined && update.versionId === last.versionId) return 'duplicate';
    const eTag = update.eTag === undefined ? undefined : unquoteEtag(update.eTag);
    if (eTag !== undefined && eTag === last.eTag) return 'duplicate';
    if (eTag !== undefined && eTag === last.rejectedETag) return 'rejected';
    return undefined;
  }

  /** True when `a` is older than `b` for the same key, by sequencer. */
  static isOlder(a: UpdateTarget, b: UpdateTarget): boolean {
    if (AppliedVersions.keyOf(a) !== AppliedVersions.keyOf(b)) return false;
    return a.sequencer !== undefined && b.sequencer !== undefined && compareSequencers(a.sequencer, b.sequencer) < 0;
  }

  /** The object `applied` is now served. */
  record(applied: UpdateTarget): void {
    const last = this.get(applied);
    const eTag = applied.eTag === undefined ? undefined : unquoteEtag(applied.eTag);
    // A fetch with no event (start-up, reconcile) has no sequencer: it keeps the last event's
    // only when it fetched that same object.
    const sequencer = applied.sequencer ?? (last !== undefined && last.eTag === eTag ? last.sequencer : undefined);
    this.#set({
      bucket: applied.bucket,
      key: applied.key,
      ...(eTag === undefined ? {} : { eTag }),
      ...(applied.versionId === undefined ? {} : { versionId: applied.versionId }),
      ...(sequencer === undefined ? {} : { sequencer }),
      ...(last?.newestSeen === undefined ? {} : { newestSeen: last.newestSeen }),
    });
  }

  /** An event for this key was seen (applied or not): remember its sequencer if it is the newest. */
  noteSeen(update: UpdateTarget): void {
    const last = this.get(update);
    if (last === undefined || update.sequencer === undefined) return;
    if (last.newestSeen !== undefined && compareSequencers(update.sequencer, last.newestSeen) <= 0) return;
    this.#set({ ...last, newestSeen: update.sequencer });
  }

  /**
   * An event for the version already served (same version id) tells its sequencer: remember it,
   * so an older event that comes later is known to be stale. ETag matches do not count: equal
   * content can belong to an older version.
   */
  noteSequencer(update: UpdateTarget): void {
    const last = this.get(update);
    if (last === undefined || update.sequencer === undefined || update.versionId === undefined) return;
    if (update.versionId !== last.versionId) return;
    if (last.sequencer !== undefined && compareSequencers(update.sequencer, last.sequencer) <= 0) return;
    this.#set({ ...last, sequencer: update.sequencer });
  }

  /** The store refused the object `eTag` of this key: an event for it again is skipped. */
  reject(target: { readonly bucket: string; readonly key: string }, eTag: string): void {
    const last = this.get(target);
    this.#set({ ...(last ?? { bucket: target.bucket, key: target.key }), rejectedETag: unquoteEtag(eTag) });
  }

  get(target: { readonly bucket: string; readonly key: string }): Tracked | undefined {
    return this.#tracked.get(AppliedVersions.keyOf(target));
  }

  #set(entry: Tracked): void {
    const key = AppliedVersions.keyOf(entry);
    this.#tracked.delete(key); // re-inserted last: Map order is the LRU order
    this.#tracked.set(key, entry);
    if (this.#tracked.size > MAX_TRACKED_KEYS) {
      const oldest = this.#tracked.keys().next().value;
      if (oldest !== undefined) this.#tracked.delete(oldest);
    }
  }
}
