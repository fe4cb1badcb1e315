import type { Attributes } from '@opentelemetry/api';
import { isS3SyncError } from '../errors.ts';

/** `error.type` values are label values: bounded, so an odd error cannot blow up cardinality. */
const MAX_ERROR_TYPE_LENGTH = 64;

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
  if (typeof code === 'string' && code !== '') return code.slice(0, MAX_ERROR_TYPE_LENGTH);
  if (typeof name === 'string' && name !== '' && name !== 'Error') return name.slice(0, MAX_ERROR_TYPE_LENGTH);
  return OTHER_ERROR_TYPE;
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
