/**
 * `s3-sqs-sync/sqs`: the SQS side on its own (the listener, the message decoder, the per-replica
 * queue helpers). Loads the SQS client, not the S3 one.
 */
export type {
  HandlerTimeoutErrorOptions,
  MessageErrorOptions,
  ObjectErrorOptions,
  S3SyncErrorCode,
  S3SyncErrorContext,
  S3SyncErrorJSON,
  S3SyncErrorOptions,
} from '../errors.ts';
export {
  AbortedError,
  AccessDeniedError,
  HandlerTimeoutError,
  HeartbeatError,
  isS3SyncError,
  MessageError,
  NotFoundError,
  S3_SYNC_ERROR_CODES,
  S3SyncError,
  StopDeadlineError,
} from '../errors.ts';
export type { ListenerErrorReporter, TypedEvents } from '../events.ts';
export { defaultRetryDelaySeconds, SqsListener } from './listener.ts';
export type {
  AnnouncedObject,
  AnnouncedObjectKind,
  AnnouncementSource,
  DecodeSyncMessageOptions,
} from './messages.ts';
export { decodeSyncMessage } from './messages.ts';
export type { CreateReplicaQueueOptions, ReplicaQueue } from './replica-queue.ts';
export { createReplicaQueue, replicaQueuePolicy } from './replica-queue.ts';
export type { SweepReplicaQueuesOptions, SweepReplicaQueuesResult, SweptReplicaQueue } from './replica-sweep.ts';
export { sweepReplicaQueues } from './replica-sweep.ts';
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
} from './types.ts';
