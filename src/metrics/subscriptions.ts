import type { BatchObservableCallback, Meter } from '@opentelemetry/api';

/** One listener added to one emitter, kept so `stop()` can remove exactly what it added. */
export interface Subscription {
  off(): void;
}

export function subscribe<M extends Record<keyof M, unknown[]>, E extends keyof M & string>(
  emitter: {
    on(event: E, listener: (...args: M[E]) => unknown): unknown;
    off(event: E, listener: (...args: M[E]) => unknown): unknown;
  },
  event: E,
  listener: (...args: M[E]) => void,
): Subscription {
  emitter.on(event, listener);
  return { off: () => emitter.off(event, listener) };
}

/** An observable callback registered on a meter, kept so `stop()` can remove it. */
export function observe(
  meter: Meter,
  callback: BatchObservableCallback,
  observables: Parameters<Meter['addBatchObservableCallback']>[1],
): Subscription {
  meter.addBatchObservableCallback(callback, observables);
  return { off: () => meter.removeBatchObservableCallback(callback, observables) };
}
