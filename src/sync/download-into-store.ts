import type { S3Client } from '@aws-sdk/client-s3';
import { type DownloadedResult, type DownloadOptions, downloadS3Object } from '../download/download.ts';
import { isS3SyncError } from '../errors.ts';
import type { ReloadableStore, StagedUpdate, StoreSnapshot } from '../store/types.ts';
import type { S3Location } from '../url/s3-url.ts';

/** Options for {@link downloadIntoStore}. */
export interface DownloadIntoStoreOptions<T>
  extends Omit<DownloadOptions<StagedUpdate<T>>, 'client' | 'source' | 'target' | 'verify'> {
  /** The S3 client to use. */
  readonly client: S3Client;
  /** An S3 URL (any form `parseS3Url` accepts) or a location. */
  readonly source: string | S3Location;
  /** The store whose data the object replaces. */
  readonly store: ReloadableStore<T>;
  /** The file the store serves; the object replaces it only once the store has accepted it. */
  readonly target: string;
}

/** The object was downloaded, accepted by the store, renamed over the target and published. */
export interface AppliedUpdate<T> {
  readonly status: 'applied';
  readonly snapshot: StoreSnapshot<T>;
  readonly download: DownloadedResult<StagedUpdate<T>>;
}

/** S3 answered 304 to `ifNoneMatch`: nothing changed. */
export interface UnchangedUpdate {
  readonly status: 'not-modified';
  readonly etag: string;
}

/** The result of {@link downloadIntoStore}. */
export type DownloadIntoStoreResult<T> = AppliedUpdate<T> | UnchangedUpdate;

/**
 * Downloads one object into a store in the only safe order: stream to a temp file, let the store
 * read, parse and validate it (`store.stage`), rename it over `target`, then publish the staged
 * data. Disk and memory never disagree: an object the store refuses never replaces the file
 * (`ERR_VERIFY_FAILED`, the store's error as `cause`), and a file that replaced the target is
 * always published. Composing `downloadS3Object` with `verify: store.stage` by hand and
 * forgetting `publish()` leaves them apart; this call does both.
 *
 * If something newer was published while the object was being renamed (a concurrent
 * `store.reload()`), the store re-reads the target, which holds the newest complete file.
 *
 * @throws {S3SyncError} as `downloadS3Object` does.
 */
export async function downloadIntoStore<T>(options: DownloadIntoStoreOptions<T>): Promise<DownloadIntoStoreResult<T>> {
  const { store, ...download } = options;
  if (typeof store?.stage !== 'function') throw new TypeError('Expected `store` to be a ReloadableStore');
  const target = options.target;
  const result = await downloadS3Object<StagedUpdate<T>>({
    ...download,
    verify: (tempPath, info) =>
      store.stage(tempPath, {
        path: target,
        etag: info.etag,
        ...(info.versionId === undefined ? {} : { versionId: info.versionId }),
      }),
  });
  if (result.status === 'not-modified') return { status: 'not-modified', etag: result.etag };
  const staged = result.verified;
  if (staged === undefined) throw new TypeError('The store staged nothing');
  try {
    return { status: 'applied', snapshot: staged.publish(), download: result };
  } catch (error) {
    if (!isS3SyncError(error) || error.code !== 'ERR_STALE_UPDATE') throw error;
    // A reload published after the stage: the target now holds the newest complete file.
    return { status: 'applied', snapshot: await store.reload(), download: result };
  }
}
