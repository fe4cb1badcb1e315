import { AppliedVersions } from './policy.ts';
import type { AnnouncedUpdate, SkipReason } from './types.ts';

/** What became of an update a caller submitted. */
export type Outcome = { readonly status: 'applied' } | { readonly status: 'skipped'; readonly reason: SkipReason };

interface Waiter {
  resolve(outcome: Outcome): void;
  reject(error: unknown): void;
}

interface Batch {
  update: AnnouncedUpdate;
  readonly waiters: Waiter[];
}

/**
 * Runs one update at a time for one target and folds a burst into as few runs as possible:
 * while a run is in flight, everything submitted waits in one pending batch that keeps only the
 * newest update; every submitter is answered by the run that covered its update. Internal.
 */
export class Coalescer {
  readonly #run: (update: AnnouncedUpdate) => Promise<Outcome>;
  readonly #onCoalesced: (dropped: AnnouncedUpdate) => void;
  #running: Promise<void> | undefined;
  #pending: Batch | undefined;

  constructor(run: (update: AnnouncedUpdate) => Promise<Outcome>, onCoalesced: (dropped: AnnouncedUpdate) => void) {
    this.#run = run;
    this.#onCoalesced = onCoalesced;
  }

  /** Resolves with the outcome of the run that covers `update` (its own or a newer one). */
  submit(update: AnnouncedUpdate): Promise<Outcome> {
    let waiter: Waiter | undefined;
    const promise = new Promise<Outcome>((resolve, reject) => {
      waiter = { resolve, reject };
    });
    if (this.#pending === undefined) {
      this.#pending = { update, waiters: [waiter as Waiter] };
    } else {
      this.#pending.waiters.push(waiter as Waiter);
      if (AppliedVersions.isOlder(update, this.#pending.update)) {
        this.#onCoalesced(update);
      } else {
        this.#onCoalesced(this.#pending.update);
        this.#pending.update = update;
      }
    }
    if (this.#running === undefined) this.#running = this.#drain();
    return promise;
  }

  /** Resolves when nothing runs or waits. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  async #drain(): Promise<void> {
    try {
      for (let batch = this.#pending; batch !== undefined; batch = this.#pending) {
        this.#pending = undefined;
        try {
          const outcome = await this.#run(batch.update);
          for (const waiter of batch.waiters) waiter.resolve(outcome);
        } catch (error) {
          for (const waiter of batch.waiters) waiter.reject(error);
        }
      }
    } finally {
      this.#running = undefined;
    }
  }
}
