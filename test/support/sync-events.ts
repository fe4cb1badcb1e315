import type { S3Sync, S3SyncEventMap } from '../../src/index.ts';

type Events = S3SyncEventMap<unknown>;

/** Records every event of a sync and lets a test wait for one that matches. */
export class SyncRecorder {
  readonly seen: { [E in keyof Events]: Events[E][] } = {
    update_received: [],
    update_skipped: [],
    update_applied: [],
    update_failed: [],
    started: [],
    stopped: [],
  };
  readonly #waiters: { event: keyof Events; test: (args: never) => boolean; resolve: (args: never) => void }[] = [];

  constructor(sync: S3Sync<unknown>) {
    for (const event of Object.keys(this.seen) as (keyof Events)[]) {
      sync.on(event, (...args: unknown[]) => {
        (this.seen[event] as unknown[][]).push(args);
        for (const waiter of [...this.#waiters]) {
          if (waiter.event === event && waiter.test(args as never)) {
            this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
            waiter.resolve(args as never);
          }
        }
      });
    }
  }

  /** The next `event` (from now, or already seen when `past` is true) whose arguments pass `test`. */
  next<E extends keyof Events>(event: E, test: (args: Events[E]) => boolean = () => true): Promise<Events[E]> {
    return new Promise((resolve) => {
      this.#waiters.push({ event, test: test as (args: never) => boolean, resolve: resolve as (args: never) => void });
    });
  }

  /** Skip reasons seen so far, in order. */
  skipReasons(): string[] {
    return this.seen.update_skipped.map(([, reason]) => reason);
  }
}
