// Helpers shared by the mocked-client download tests.
import { Readable } from 'node:stream';
import { S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { sdkStreamMixin } from '@smithy/core/serde';

export const client = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
export const FAST_RETRY = { retries: 3, minDelayMs: 1, maxDelayMs: 2 } as const;
export const OLD = '{"servers":["old"]}';
export const NEW = '{"servers":["new","content"]}';

export function body(...chunks: (string | Buffer)[]) {
  return sdkStreamMixin(Readable.from(chunks.map((c) => Buffer.from(c))));
}

/** A body that sends `first`, then fails as a reset connection does. */
export function cutBody(first: string) {
  let sent = false;
  return sdkStreamMixin(
    new Readable({
      read() {
        if (!sent) {
          sent = true;
          this.push(Buffer.from(first));
        } else {
          this.destroy(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' }));
        }
      },
    }),
  );
}

/** A body that sends `first`, and the rest only when `release()` is called. */
export function heldBody(first: string, rest: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let sent = false;
  const stream = new Readable({
    read() {
      if (sent) return;
      sent = true;
      this.push(Buffer.from(first));
      void released.then(() => {
        this.push(Buffer.from(rest));
        this.push(null);
      });
    },
  });
  return { body: sdkStreamMixin(stream), release };
}

export function serviceError(name: string, status: number) {
  return new S3ServiceException({
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status },
    message: name,
  });
}

export function ok(content: string, extra: Record<string, unknown> = {}) {
  return { Body: body(content), ContentLength: Buffer.byteLength(content), ETag: '"etag-new"', ...extra };
}

export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}
