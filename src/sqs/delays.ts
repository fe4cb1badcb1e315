import { httpStatusOf } from '../aws-errors.ts';

/** SQS limit on a message's visibility timeout: 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/** 5 s, 10 s, 20 s … doubling per delivery, at most 15 minutes. */
export function defaultRetryDelaySeconds(receiveCount: number): number {
  return Math.min(900, 5 * 2 ** Math.min(Math.max(receiveCount - 1, 0), 10));
}

/**
 * The retry delay SQS will accept, from what the user's function returned: rounded, clamped to
 * 0–43200 (so `Infinity` is the longest wait). Anything that is not a number — `NaN`, `undefined`
 * from a function that forgot to return — is `undefined`: the caller falls back to the default
 * rather than redelivering at once.
 */
export function clampRetryDelay(chosen: unknown): number | undefined {
  if (typeof chosen !== 'number' || Number.isNaN(chosen)) return undefined;
  return Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.round(chosen)));
}

/**
 * The retry delay for a failed message: what `chosen` returns, clamped; the default when it
 * throws or returns no number (both reported through `warn`).
 */
export function retryDelayFor(
  chosen: (receiveCount: number, error: unknown) => number,
  receiveCount: number,
  error: unknown,
  warn: (fields: object, message: string) => void,
): number {
  let value: unknown;
  try {
    value = chosen(receiveCount, error);
  } catch (delayError) {
    warn({ err: delayError }, 'retryDelaySeconds threw; using the default delay');
    return defaultRetryDelaySeconds(receiveCount);
  }
  const delay = clampRetryDelay(value);
  if (delay !== undefined) return delay;
  warn({ returned: String(value) }, 'retryDelaySeconds returned no number; using the default delay');
  return defaultRetryDelaySeconds(receiveCount);
}

// Errors that will not clear up by themselves soon: wait the longest before the next receive.
const SLOW_RECEIVE_ERRORS = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'UnrecognizedClientException',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
  'CredentialsProviderError',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'KmsAccessDenied',
]);

function isSlowReceiveError(error: unknown): boolean {
  const e = error as { name?: string; Code?: string } | undefined;
  return (
    SLOW_RECEIVE_ERRORS.has(e?.name ?? '') || SLOW_RECEIVE_ERRORS.has(e?.Code ?? '') || httpStatusOf(error) === 403
  );
}

/**
 * The wait after the `failures`-th failed receive in a row. Equal jitter: at least half the step,
 * so failures never turn into a hot loop.
 */
export function receiveBackoffMs(error: unknown, failures: number, minMs: number, maxMs: number): number {
  const step = isSlowReceiveError(error) ? maxMs : Math.min(maxMs, minMs * 2 ** Math.min(failures - 1, 30));
  return Math.round(step / 2 + Math.random() * (step / 2));
}

/** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
export function pause(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
