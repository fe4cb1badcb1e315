import type { SqsListener, SqsListenerEventMap } from '../../src/index.ts';

/** Resolves with the event's arguments the `count`-th time `event` fires, then stops listening. */
export function nthEvent<E extends keyof SqsListenerEventMap>(
  emitter: SqsListener,
  event: E,
  count = 1,
): Promise<SqsListenerEventMap[E]> {
  return new Promise((resolve) => {
    let seen = 0;
    const listener = (...args: SqsListenerEventMap[E]) => {
      if (++seen === count) {
        emitter.off(event, listener);
        resolve(args);
      }
    };
    emitter.on(event, listener);
  });
}
