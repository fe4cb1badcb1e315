import { MessageError } from '../errors.ts';
import type { AnnouncedUpdate } from './types.ts';

// Placeholder until decodeSyncMessage lands: s3_url / s3_uri bodies and bare S3 event records.
export function decodeUpdates(body: string, messageId: string | undefined): AnnouncedUpdate[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw new MessageError('not JSON', { reason: 'not JSON', cause: error, ...(messageId ? { messageId } : {}) });
  }
  let doc = parsed as Record<string, unknown>;
  if (typeof doc.Message === 'string') doc = JSON.parse(doc.Message) as Record<string, unknown>;
  const records = (doc.Records ?? []) as {
    eventName?: string;
    eventTime?: string;
    s3: { bucket: { name: string }; object: { key: string; eTag?: string; sequencer?: string; versionId?: string } };
  }[];
  return records.map((r) => ({
    bucket: r.s3.bucket.name,
    key: decodeURIComponent(r.s3.object.key.replaceAll('+', ' ')),
    ...(r.s3.object.eTag ? { eTag: r.s3.object.eTag } : {}),
    ...(r.s3.object.sequencer ? { sequencer: r.s3.object.sequencer } : {}),
    ...(r.s3.object.versionId ? { versionId: r.s3.object.versionId } : {}),
    ...(r.eventTime ? { eventTime: new Date(r.eventTime) } : {}),
    ...(r.eventName?.startsWith('ObjectRemoved') ? { removed: true } : {}),
    ...(messageId ? { messageId } : {}),
    origin: 'message' as const,
  }));
}
