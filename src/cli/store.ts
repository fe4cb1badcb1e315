import { stat } from 'node:fs/promises';
import {
  createReloadableStore,
  JsonFileStore,
  type ReloadableStore,
  type ReloadOptions,
  type SnapshotSource,
  type StagedUpdate,
  type StandardSchemaV1,
  type StoreEventMap,
  type StoreHealth,
  type StoreSnapshot,
  type ValidationIssue,
} from 's3-sqs-sync';
import { runVerifyCommand, type VerifyCommandOptions } from './verify-command.ts';

/** `json`: parsed (and checked against `--schema`) before it replaces the file; `raw`: any bytes (an nginx conf). */
export type FileFormat = 'json' | 'raw';

/**
 * What the command's store holds. The command only keeps a file for another process, so it keeps
 * no copy of the data in memory: a large registry costs its parse while it is checked, then nothing.
 */
export interface SyncedFile {
  readonly format: FileFormat;
}

export interface CliStoreOptions {
  readonly target: string;
  readonly format: FileFormat;
  readonly maxBytes?: number | undefined;
  /** From `--schema`: Ajv's issues, or `undefined` when the data is valid. */
  readonly schema?: ((data: unknown) => readonly ValidationIssue[] | undefined) | undefined;
  /** From `--verify-cmd`. */
  readonly verify?: VerifyCommandOptions | undefined;
}

type Events = StoreEventMap<SyncedFile>;

/**
 * A store whose `stage()` also runs `--verify-cmd` on the candidate file, after the inner store
 * has read and checked it and before the pipeline renames it over the target. A refusal rejects
 * the stage with `ERR_VALIDATION`, so the pipeline reports `ERR_VERIFY_FAILED` and the file stays.
 */
class VerifyingStore implements ReloadableStore<SyncedFile> {
  readonly #inner: ReloadableStore<SyncedFile>;
  readonly #verify: VerifyCommandOptions;

  constructor(inner: ReloadableStore<SyncedFile>, verify: VerifyCommandOptions) {
    this.#inner = inner;
    this.#verify = verify;
  }

  get(): SyncedFile {
    return this.#inner.get();
  }
  snapshot(): StoreSnapshot<SyncedFile> {
    return this.#inner.snapshot();
  }
  load(options?: ReloadOptions): Promise<StoreSnapshot<SyncedFile>> {
    return this.#inner.load(options);
  }
  reload(options?: ReloadOptions): Promise<StoreSnapshot<SyncedFile>> {
    return this.#inner.reload(options);
  }
  async stage(candidatePath: string, source?: SnapshotSource): Promise<StagedUpdate<SyncedFile>> {
    const staged = await this.#inner.stage(candidatePath, source);
    await runVerifyCommand(this.#verify, candidatePath);
    return staged;
  }
  health(): StoreHealth {
    return this.#inner.health();
  }
  on<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#inner.on(event, listener);
    return this;
  }
  once<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#inner.once(event, listener);
    return this;
  }
  off<E extends keyof Events & string>(event: E, listener: (...args: Events[E]) => void): this {
    this.#inner.off(event, listener);
    return this;
  }
  close(): Promise<void> {
    return this.#inner.close();
  }
}

/** `--schema` as a Standard Schema, so the store reports its issues with the file's context. */
function schemaValidator(
  check: ((data: unknown) => readonly ValidationIssue[] | undefined) | undefined,
  summary: SyncedFile,
): StandardSchemaV1<unknown, SyncedFile> {
  return {
    '~standard': {
      version: 1,
      vendor: 's3-sqs-sync-cli',
      validate: (data) => {
        const issues = check?.(data);
        return issues === undefined ? { value: summary } : { issues };
      },
    },
  };
}

/** The store `sync` publishes into: JSON (parsed, `--schema`) or raw bytes, with `--verify-cmd` on top. */
export function createCliStore(options: CliStoreOptions): ReloadableStore<SyncedFile> {
  const summary: SyncedFile = Object.freeze({ format: options.format });
  const inner: ReloadableStore<SyncedFile> =
    options.format === 'json'
      ? new JsonFileStore<SyncedFile>({
          path: options.target,
          validate: schemaValidator(options.schema, summary),
          ...(options.maxBytes === undefined ? {} : { maxBytes: options.maxBytes }),
        })
      : createReloadableStore<SyncedFile>({
          // The bytes are the verify command's business; the store only needs the file to exist.
          load: async () => {
            await stat(options.target);
            return summary;
          },
          readCandidate: async (path) => {
            await stat(path);
            return summary;
          },
        });
  return options.verify === undefined ? inner : new VerifyingStore(inner, options.verify);
}
