/** An S3 event notification body as S3 sends it to SQS (or SNS), for tests: the emulator sends none. */
export interface S3EventRecordInput {
  readonly bucket: string;
  readonly key: string;
  /** As S3 writes it in events: without quotes. Quotes are stripped when given. */
  readonly eTag?: string;
  readonly sequencer?: string;
  readonly versionId?: string;
  readonly size?: number;
  readonly eventName?: string;
  readonly eventTime?: Date;
}

/** Form-encodes a key the way S3 event notifications do: spaces as `+`, the rest percent-encoded. */
export function formEncodeKey(key: string): string {
  return encodeURIComponent(key).replaceAll('%20', '+').replaceAll('%2F', '/');
}

export function s3EventRecord(input: S3EventRecordInput): object {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: (input.eventTime ?? new Date()).toISOString(),
    eventName: input.eventName ?? 'ObjectCreated:Put',
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'registry-changes',
      bucket: { name: input.bucket, arn: `arn:aws:s3:::${input.bucket}` },
      object: {
        key: formEncodeKey(input.key),
        ...(input.size === undefined ? {} : { size: input.size }),
        ...(input.eTag === undefined ? {} : { eTag: input.eTag.replaceAll('"', '') }),
        ...(input.versionId === undefined ? {} : { versionId: input.versionId }),
        ...(input.sequencer === undefined ? {} : { sequencer: input.sequencer }),
      },
    },
  };
}

/** The body of an S3 event notification with these records. */
export function s3EventBody(...records: S3EventRecordInput[]): string {
  return JSON.stringify({ Records: records.map(s3EventRecord) });
}

/** A growing S3-style sequencer: hex, 16 digits. */
export function sequencer(n: number): string {
  return n.toString(16).toUpperCase().padStart(16, '0');
}
