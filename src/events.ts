import { EventEmitter } from 'node:events';

/**
 * Typed `on` / `once` / `off` over Node's EventEmitter, with a protected `emit` that never
 * emits 'error' and never lets a throwing listener break the emitter's own work. Internal base
 * of the store and the listener.
 */
export class TypedEvents<M extends Record<keyof M, unknown[]>> {
  readonly #events = new EventEmitter();

  on<E extends keyof M & string>(event: E, listener: (...args: M[E]) => void): this {
    this.#events.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once<E extends keyof M & string>(event: E, listener: (...args: M[E]) => void): this {
    this.#events.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof M & string>(event: E, listener: (...args: M[E]) => void): this {
    this.#events.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** Number of listeners for `event`. */
  listenerCount<E extends keyof M & string>(event: E): number {
    return this.#events.listenerCount(event);
  }

  protected emit<E extends keyof M & string>(event: E, ...args: M[E]): void {
    try {
      this.#events.emit(event, ...args);
    } catch (error) {
      // A throwing listener must not undo or interrupt the work that emitted the event: its
      // error surfaces on its own, as any uncaught error in an event listener does.
      queueMicrotask(() => {
        throw error;
      });
    }
  }

  protected removeAllListeners(): void {
    this.#events.removeAllListeners();
  }
}
