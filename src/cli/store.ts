import { chmod, stat } from 'node:fs/promises';
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
  ValidationError,
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

/** The command's store: a {@link ReloadableStore} that a stop can cut short. */
export interface CliStore extends ReloadableStore<SyncedFile> {
  /** Kills any running `--verify-cmd` (its stage rejects with `ERR_CLOSED`, not a refusal); a stage that would run one from now on rejects at once. */
  abort(): void;
}

type FileStamp = { size: number; mtimeMs: number; ctimeMs: number; ino: number };

/**
 * What the candidate must still be after the verify command ran: the command may read it, never
 * change it. The ctime is taken after the file was made read-only, so any later write, chmod or
 * `touch -d` (which puts the mtime back but not the ctime) shows; root ignores the read-only mode.
 */
function sameFile(before: FileStamp, after: FileStamp): boolean {
  return (
    before.size === after.size &&
    before.mtimeMs === after.mtimeMs &&
    before.ctimeMs === after.ctimeMs &&
    before.ino === after.ino
  );
}

/**
 * A store whose `stage()` first runs `--verify-cmd` on the candidate file, then lets the inner
 * store read and check it, before the pipeline renames it over the target. The command runs
 * first so the parse and `--schema` see the final bytes; the file is read-only while it runs,
 * and a candidate whose size, mtime, ctime or inode changed is refused all the same. A refusal rejects
 * the stage with `ERR_VALIDATION`, so the pipeline reports `ERR_VERIFY_FAILED` and the file stays.
 */
class VerifyingStore implements CliStore {
  readonly #inner: ReloadableStore<SyncedFile>;
  readonly #verify: VerifyCommandOptions | undefined;
  readonly #abort = new AbortController();

  constructor(inner: ReloadableStore<SyncedFile>, verify: VerifyCommandOptions | undefined) {
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
    if (this.#verify !== undefined) await this.#runVerify(this.#verify, candidatePath);
    return this.#inner.stage(candidatePath, source);
  }
  async #runVerify(verify: VerifyCommandOptions, candidatePath: string): Promise<void> {
    // The rename keeps the temp file's mode, and the download gave it the mode the target must have.
    const mode = (await stat(candidatePath)).mode & 0o7777;
    await chmod(candidatePath, 0o400);
    try {
      const before = await stat(candidatePath);
      await runVerifyCommand(verify, candidatePath, this.#abort.signal);
      const after = await stat(candidatePath);
      if (!sameFile(before, after)) {
        const message = '--verify-cmd refused the update: it changed the candidate file';
        throw new ValidationError(message, { path: verify.target, issues: [{ message }] });
      }
    } finally {
      await chmod(candidatePath, mode).catch(() => {
        // Replaced or removed by the command: the size/inode check (or the rename) reports it.
      });
    }
  }
  abort(): void {
    this.#abort.abort();
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
    this.abort();
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
export function createCliStore(options: CliStoreOptions): CliStore {
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
  return new VerifyingStore(inner, options.verify);
}
