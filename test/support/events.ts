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

/** A promise to open by hand: a handler that waits for the test to let it go. */
export function gate<T = void>(): { promise: Promise<T>; open(value: T): void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
