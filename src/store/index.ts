/**
 * `s3-sqs-sync/store`: the reloadable stores on their own. Loads no AWS SDK client.
 */
export type {
  ObjectErrorOptions,
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorJSON,
  S3SyncErrorOptions,
  StaleUpdateErrorOptions,
  TooLargeErrorOptions,
  ValidationErrorOptions,
  ValidationIssue,
} from '../errors.ts';
export {
  AbortedError,
  AccessDeniedError,
  ClosedError,
  FileSystemError,
  isS3SyncError,
  LoadError,
  NotFoundError,
  NotReadyError,
  ParseError,
  S3_SYNC_ERROR_CODES,
  S3SyncError,
  StaleUpdateError,
  TooLargeError,
  ValidationError,
} from '../errors.ts';
export type { ListenerErrorReporter, TypedEvents } from '../events.ts';
export type { CreateReloadableStoreOptions } from './create.ts';
export { createReloadableStore } from './create.ts';
export type { JsonFileStoreOptions } from './json-file-store.ts';
export { JsonFileStore } from './json-file-store.ts';
export type {
  ReloadableStore,
  ReloadOptions,
  SnapshotSource,
  StagedUpdate,
  StoreEventMap,
  StoreHealth,
  StoreSnapshot,
} from './types.ts';
export type { StandardSchemaV1, Validate, WithSchema } from './validator.ts';
