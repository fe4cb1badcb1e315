import { StoreCore } from './core.ts';
import { readJsonFile } from './read-json.ts';
import type { ReloadableStore } from './types.ts';
import type { Validate } from './validator.ts';

/** Options for {@link createReloadableStore}. */
export interface CreateReloadableStoreOptions<T> {
  /** Reads the data from wherever it lives. Abort work when `signal` fires (on `close()`). */
  readonly load: (signal: AbortSignal) => Promise<unknown>;
  /** Checks parsed data: a function that returns it or throws, or a Standard Schema. */
  readonly validate?: Validate<T>;
  /**
   * Reads a candidate file for `stage()`.
   * @defaultValue a strict JSON file read (as `JsonFileStore` does)
   */
  readonly readCandidate?: (path: string, signal: AbortSignal) => Promise<unknown>;
  /**
   * Deep-freeze data before publishing it.
   * @defaultValue false
   */
  readonly freeze?: boolean;
}

/**
 * A `ReloadableStore` over any source: a database query, an HTTP API, a computed value. It has the
 * same guarantees as `JsonFileStore`: validate before swap, last good kept, single-flight reloads.
 */
export function createReloadableStore<T = unknown>(options: CreateReloadableStoreOptions<T>): ReloadableStore<T> {
  if (typeof options?.load !== 'function') throw new TypeError('Expected `load` to be a function');
  if (options.readCandidate !== undefined && typeof options.readCandidate !== 'function') {
    throw new TypeError('Expected `readCandidate` to be a function');
  }
  return new StoreCore<T>({
    read: options.load,
    readCandidate: options.readCandidate ?? ((path, signal) => readJsonFile(path, { signal })),
    validate: options.validate,
    freeze: options.freeze,
  });
}
