import { resolve } from 'node:path';

// The tail of each target's queue: settles when the last download queued for it has finished.
const tails = new Map<string, Promise<void>>();

/**
 * Runs `task` once every download queued earlier for the same target (same resolved path) has
 * settled, so that downloads to one file replace it in the order they were called: the newest
 * call's object is the one left, whichever response arrives first. `waitFor(previous)` decides
 * how to wait (it rejects to leave the queue on abort); the next in line still waits for the
 * earlier ones.
 */
export async function inTargetOrder<T>(
  target: string,
  waitFor: (previous: Promise<void>) => Promise<void>,
  task: () => Promise<T>,
): Promise<T> {
  const key = resolve(target);
  const previous = tails.get(key);
  let release!: () => void;
  const mine = new Promise<void>((done) => {
    release = done;
  });
  const tail = previous === undefined ? mine : previous.then(() => mine);
  tails.set(key, tail);
  try {
    if (previous !== undefined) await waitFor(previous);
    return await task();
  } finally {
    release();
    // The last one out removes the entry, so the map holds only targets with work queued.
    void tail.then(() => {
      if (tails.get(key) === tail) tails.delete(key);
    });
  }
}
