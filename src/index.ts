export type {
  ChecksumAlgorithmName,
  ChecksumInfo,
  DownloadedResult,
  DownloadOptions,
  DownloadResult,
  DownloadRetryOptions,
  DownloadVerifyContext,
  GetObjectPassThroughInput,
  NotModifiedResult,
  ObjectInfo,
  SweepTempFilesOptions,
} from './download/download.ts';
export { downloadS3Object, sweepTempFiles, TEMP_FILE_SUFFIX } from './download/download.ts';
export type {
  ConfigErrorOptions,
  DownloadErrorOptions,
  FileSystemErrorOptions,
  HandlerTimeoutErrorOptions,
  MessageErrorOptions,
  ObjectErrorOptions,
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorJSON,
  S3SyncErrorOptions,
  S3UrlErrorOptions,
  StaleUpdateErrorOptions,
  TooLargeErrorOptions,
  ValidationErrorOptions,
  ValidationIssue,
} from './errors.ts';
export {
  AbortedError,
  AccessDeniedError,
  ChecksumMismatchError,
  ClosedError,
  ConfigError,
  DownloadError,
  FileSystemError,
  HandlerTimeoutError,
  HeartbeatError,
  isS3SyncError,
  LoadError,
  MessageError,
  NotFoundError,
  NotReadyError,
  ParseError,
  PreconditionFailedError,
  S3_SYNC_ERROR_CODES,
  S3SyncError,
  S3UrlError,
  StaleUpdateError,
  StopDeadlineError,
  TooLargeError,
  ValidationError,
  VerifyFailedError,
} from './errors.ts';
export type { ListenerErrorReporter, TypedEvents } from './events.ts';
export { defaultRetryDelaySeconds, SqsListener } from './sqs/listener.ts';
export type {
  AnnouncedObject,
  AnnouncedObjectKind,
  AnnouncementSource,
  DecodeSyncMessageOptions,
} from './sqs/messages.ts';
export { decodeSyncMessage } from './sqs/messages.ts';
export type { CreateReplicaQueueOptions, ReplicaQueue } from './sqs/replica-queue.ts';
export { createReplicaQueue, replicaQueuePolicy } from './sqs/replica-queue.ts';
export type { SweepReplicaQueuesOptions, SweepReplicaQueuesResult, SweptReplicaQueue } from './sqs/replica-sweep.ts';
export { sweepReplicaQueues } from './sqs/replica-sweep.ts';
export type {
  ErrorSummary,
  HandBackReason,
  HandlerContext,
  Logger,
  MessageInfo,
  SqsListenerEventMap,
  SqsListenerHealth,
  SqsListenerOptions,
  SqsListenerStatus,
  StopOptions,
  StopResult,
} from './sqs/types.ts';
export type { CreateReloadableStoreOptions } from './store/create.ts';
export { createReloadableStore } from './store/create.ts';
export type { JsonFileStoreOptions } from './store/json-file-store.ts';
export { JsonFileStore } from './store/json-file-store.ts';
export type {
  ReloadableStore,
  ReloadOptions,
  SnapshotSource,
  StagedUpdate,
  StoreEventMap,
  StoreHealth,
  StoreSnapshot,
} from './store/types.ts';
export type { StandardSchemaV1, Validate, WithSchema } from './store/validator.ts';
export type {
  AppliedUpdate,
  DownloadIntoStoreOptions,
  DownloadIntoStoreResult,
  UnchangedUpdate,
} from './sync/download-into-store.ts';
export { downloadIntoStore } from './sync/download-into-store.ts';
export type { S3SyncEnvConfig, S3SyncEnvOptions } from './sync/env.ts';
export { s3SyncOptionsFromEnv } from './sync/env.ts';
export type { AllowList } from './sync/policy.ts';
export { compareSequencers } from './sync/policy.ts';
export { createS3Sync, isPermanentFailure, S3Sync } from './sync/sync.ts';
export type {
  AnnouncedUpdate,
  AppliedInfo,
  PermanentFailureAction,
  S3SyncEventMap,
  S3SyncHealth,
  S3SyncOptions,
  S3SyncSqsOptions,
  S3SyncState,
  SkipReason,
} from './sync/types.ts';
export type {
  FormatS3UrlOptions,
  ParsedS3Url,
  ParseS3UrlOptions,
  S3Endpoint,
  S3Location,
  S3UrlStyle,
} from './url/s3-url.ts';
export { formatS3Url, isValidBucketName, parseS3Url, tryParseS3Url } from './url/s3-url.ts';
