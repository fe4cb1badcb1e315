import type { Attributes } from '@opentelemetry/api';
import { isS3SyncError } from '../errors.ts';

/** `error.type` values are label values: identifier-like and bounded, so an odd error cannot blow up cardinality. */
const ERROR_CLASS = /^[A-Za-z][A-Za-z0-9_.]{0,63}$/;

/** The semantic conventions' value for an error that has no better class. */
export const OTHER_ERROR_TYPE = '_OTHER';

/**
 * A low-cardinality class for `error.type`: our error code (`ERR_DOWNLOAD`, …), else a system or
 * SDK code (`ECONNREFUSED`), else an error's own class name (`QueueDoesNotExist`), else `_OTHER`.
 * Never the message: messages carry keys, ids and URLs.
 */
export function errorType(error: unknown): string {
  if (isS3SyncError(error)) return error.code;
  if (typeof error !== 'object' || error === null) return OTHER_ERROR_TYPE;
  const { code, name } = error as { code?: unknown; name?: unknown };
  if (isClassName(code)) return code;
  if (isClassName(name) && name !== 'Error') return name;
  return OTHER_ERROR_TYPE;
}

/**
 * An identifier-like code or name (`ECONNRESET`, `QueueDoesNotExist`, `ERR_DOWNLOAD`). A value
 * with spaces, slashes or other punctuation (`HTTP_404 /v0/objects/52c4…`) carries ids, and would
 * make a label value per request.
 */
function isClassName(value: unknown): value is string {
  return typeof value === 'string' && ERROR_CLASS.test(value);
}

/**
 * `messaging.destination.name` from a queue URL (its last path segment, the queue's name), or the
 * value itself when it is already a name.
 */
export function queueName(queueUrl: string): string {
  let path = queueUrl;
  try {
    path = new URL(queueUrl).pathname;
  } catch {
    // Not a URL: a queue name given as such.
  }
  const segments = path.split('/').filter((segment) => segment !== '');
  return segments.at(-1) ?? queueUrl;
}

/** A frozen copy, so attributes handed to the SDK at every measurement cannot change later. */
export function freezeAttributes(...parts: (Attributes | undefined)[]): Attributes {
  return Object.freeze(Object.assign({}, ...parts) as Attributes);
}
