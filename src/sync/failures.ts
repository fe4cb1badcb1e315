import { type Message, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { DownloadError, isS3SyncError, isSystemError, type S3SyncError } from '../errors.ts';
import type { PermanentFailureAction } from './types.ts';

/** Failures a retry will not fix: the same object would fail the same way. */
const PERMANENT_CODES: ReadonlySet<string> = new Set([
  'ERR_NOT_FOUND',
  'ERR_ACCESS_DENIED',
  'ERR_TOO_LARGE',
  'ERR_MESSAGE',
  'ERR_S3_URL',
]);

// What a store's stage (the pipeline's verify) says about the bytes themselves. Anything else a
// stage can fail with (a file-system hiccup, a closed store) says nothing about the object.
const REFUSED_CONTENT_CODES: ReadonlySet<string> = new Set(['ERR_PARSE', 'ERR_VALIDATION', 'ERR_TOO_LARGE']);

/**
 * True for a failure that a retry of the same message will not fix: the object is missing,
 * forbidden, too large, or its content was refused (`ERR_VERIFY_FAILED` whose cause is a parse or
 * validation error, or a plain error from a `verify` function); the message is not a sync message.
 * A verify that failed for another reason (`EMFILE` reading the temp file, a closed store) is
 * transient.
 */
export function isPermanentFailure(error: unknown): boolean {
  if (!isS3SyncError(error)) return false;
  if (error.code !== 'ERR_VERIFY_FAILED') return PERMANENT_CODES.has(error.code);
  const cause = error.cause;
  if (isS3SyncError(cause)) return REFUSED_CONTENT_CODES.has(cause.code);
  // A plain error from a caller's verify function refuses the content, unless it is a system
  // error (EMFILE, EIO, …) raised while reading the file.
  return !isSystemError(cause);
}

/** Any failure as a typed error: an unclassified one becomes an `ERR_DOWNLOAD` with it as the cause. */
export function asSyncError(error: unknown): S3SyncError {
  if (isS3SyncError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError(`Update failed: ${message}`, { attempts: 1, cause: error });
}

/** Throws a TypeError naming `permanentFailure` when it is none of the documented choices. */
export function checkPermanentFailure(action: PermanentFailureAction | undefined): void {
  if (action === undefined || action === 'delete' || action === 'redrive') return;
  if (typeof action === 'object' && action !== null && typeof action.deadLetterQueueUrl === 'string') {
    if (/^https?:\/\/\S+$/.test(action.deadLetterQueueUrl)) return;
  }
  throw new TypeError(
    `Expected \`permanentFailure\` to be 'delete', 'redrive' or { deadLetterQueueUrl }, received ${JSON.stringify(action)}`,
  );
}

/**
 * Copies a message that failed permanently to a dead-letter queue, with the error code as a
 * message attribute. A FIFO dead-letter queue needs a group id (the message's own, or one fixed
 * group) and a deduplication id (the message id, so a retried copy is not sent twice).
 */
export async function sendToDeadLetterQueue(
  client: SQSClient,
  queueUrl: string,
  message: Message,
  error: S3SyncError,
  signal: AbortSignal,
): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo');
  await client.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: message.Body ?? '',
      MessageAttributes: {
        's3-sqs-sync-error-code': { DataType: 'String', StringValue: error.code },
        ...(message.MessageId === undefined
          ? {}
          : { 's3-sqs-sync-message-id': { DataType: 'String', StringValue: message.MessageId } }),
      },
      ...(fifo
        ? {
            MessageGroupId: message.Attributes?.MessageGroupId ?? 's3-sqs-sync',
            MessageDeduplicationId: message.MessageId ?? String(Date.now()),
          }
        : {}),
    }),
    { abortSignal: signal },
  );
}
