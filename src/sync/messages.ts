import { isS3SyncError, MessageError } from '../errors.ts';
import { type DecodeSyncMessageOptions, decodeSyncMessage } from '../sqs/messages.ts';
import type { AnnouncedUpdate } from './types.ts';

/**
 * The updates one SQS message announces, for the pipeline: `decodeSyncMessage`'s objects with
 * the message id and a parsed event time. A refused body's `MessageError` names the message.
 */
export function decodeUpdates(
  body: string,
  messageId: string | undefined,
  options: DecodeSyncMessageOptions,
): AnnouncedUpdate[] {
  let objects: ReturnType<typeof decodeSyncMessage>;
  try {
    objects = decodeSyncMessage(body, options);
  } catch (error) {
    if (!isS3SyncError(error) || error.code !== 'ERR_MESSAGE' || messageId === undefined) throw error;
    const refused = error as MessageError;
    throw new MessageError(refused.message, {
      reason: refused.reason,
      messageId,
      ...(refused.bucket === undefined ? {} : { bucket: refused.bucket }),
      ...(refused.key === undefined ? {} : { key: refused.key }),
      ...(refused.cause === undefined ? {} : { cause: refused.cause }),
    });
  }
  return objects.map((object) => ({
    bucket: object.bucket,
    key: object.key,
    ...(object.eTag === undefined ? {} : { eTag: object.eTag }),
    ...(object.versionId === undefined ? {} : { versionId: object.versionId }),
    ...(object.sequencer === undefined ? {} : { sequencer: object.sequencer }),
    ...(object.eventTime === undefined ? {} : { eventTime: new Date(object.eventTime) }),
    ...(object.size === undefined ? {} : { size: object.size }),
    ...(object.kind === 'removed' ? { removed: true } : {}),
    ...(messageId === undefined ? {} : { messageId }),
    origin: 'message' as const,
  }));
}
