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
  /** Updates this batch's run stands for instead of fetching them. */
  readonly dropped: AnnouncedUpdate[];
}

/**
 * Whether `next` may take the place of `pending` in the one waiting slot: it must be at least as
 * new. For one object, by S3 sequencer; across objects, by event time; without either, the later
 * arrival. A timer's fetch (start-up, reconcile) never displaces a message's update: the
 * message's fetch brings the object at least as new.
 */
function replaces(next: AnnouncedUpdate, pending: AnnouncedUpdate): boolean {
  if (next.origin !== 'message' && pending.origin === 'message') return false;
  if (AppliedVersions.keyOf(next) === AppliedVersions.keyOf(pending)) return !AppliedVersions.isOlder(next, pending);
  if (next.eventTime !== undefined && pending.eventTime !== undefined) return next.eventTime >= pending.eventTime;
  return true;
}

/**
 * Runs one update at a time for one target and folds a burst into as few runs as possible:
 * while a run is in flight, everything submitted waits in one pending batch that keeps only the
 * newest update; every submitter is answered by the run that covered its update. The updates a
 * batch stood for are reported (`onCoalesced`) only once its run succeeded: when it fails, their
 * messages go back to the queue with it. Internal.
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
    const pending = this.#pending;
    if (pending === undefined) {
      this.#pending = { update, waiters: [waiter as Waiter], dropped: [] };
    } else {
      pending.waiters.push(waiter as Waiter);
      if (replaces(update, pending.update)) {
        pending.dropped.push(pending.update);
        pending.update = update;
      } else {
        pending.dropped.push(update);
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
        let outcome: Outcome;
        try {
          outcome = await this.#run(batch.update);
        } catch (error) {
          for (const waiter of batch.waiters) waiter.reject(error);
          continue;
        }
        for (const dropped of batch.dropped) this.#onCoalesced(dropped);
        for (const waiter of batch.waiters) waiter.resolve(outcome);
      }
    } finally {
      this.#running = undefined;
    }
  }
}
