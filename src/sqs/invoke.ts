import type { Message } from '@aws-sdk/client-sqs';
import type { HandlerContext, SqsListenerOptions } from './types.ts';

/** How a handler settled; never a rejection. */
export type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

const OK: Outcome = { ok: true };

/** What `result` resolves with when the listener stopped waiting for the handler. */
export const CUT = Symbol('cut');

/** One running handler. */
export interface Invocation {
  /** The handler's own outcome, whenever it comes. */
  readonly running: Promise<Outcome>;
  /** The outcome, or {@link CUT} at `timeoutMs` or when `cut()` is called, whichever is first. */
  readonly result: Promise<Outcome | typeof CUT>;
  cut(): void;
}

/**
 * Starts a handler. At `timeoutMs` (when given) `onTimeout` runs — it aborts the handler's
 * signal — and `result` resolves with {@link CUT} however long the handler itself goes on.
 */
export function invokeHandler(
  handle: SqsListenerOptions['handleMessage'],
  message: Message,
  context: HandlerContext,
  timeoutMs: number | undefined,
  onTimeout: () => void,
): Invocation {
  let running: Promise<Outcome>;
  try {
    // Promise.resolve: a plain function that returns nothing counts as having resolved.
    running = Promise.resolve(handle(message, context)).then(
      () => OK,
      (error: unknown) => ({ ok: false, error }),
    );
  } catch (error) {
    running = Promise.resolve({ ok: false, error });
  }
  let cut!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const stopWaiting = new Promise<typeof CUT>((resolve) => {
    cut = () => resolve(CUT);
    if (timeoutMs === undefined) return;
    timer = setTimeout(() => {
      onTimeout();
      resolve(CUT);
    }, timeoutMs);
    timer.unref();
  });
  const result = Promise.race([running, stopWaiting]).finally(() => clearTimeout(timer));
  return { running, result, cut };
}
