import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The registry shape the contract publishes: `n` ties every field to one version of the file. */
export interface Registry {
  readonly n: number;
  readonly servers: readonly { readonly name: string; readonly n: number }[];
}

/** The JSON text of registry version `n`, with `servers` entries that all carry `n`. */
export function registry(n: number, servers = 3): string {
  return JSON.stringify({ n, servers: Array.from({ length: servers }, (_, i) => ({ name: `server-${i}`, n })) });
}

/**
 * The validation every harness must give its store (as `validate`): `servers` is an array whose
 * entries carry the file's `n`. Returns the data, throws when it is invalid.
 */
export function validateRegistry(data: unknown): Registry {
  const value = data as Partial<Registry> | null;
  if (typeof value?.n !== 'number' || !Array.isArray(value.servers)) throw new Error('servers must be an array');
  for (const server of value.servers) {
    if (server?.n !== value.n) throw new Error(`server ${String(server?.name)} belongs to version ${server?.n}`);
  }
  return value as Registry;
}

/** A temporary directory holding one source file, for a harness over a file-backed store. */
export interface TempSource {
  /** The directory; removed by `cleanup()`. */
  readonly dir: string;
  /** The source file (`registry.json` in `dir`); it does not exist until `setSource()`. */
  readonly path: string;
  /** Replaces the file atomically (temp file, then rename), as a real publisher does; `null` removes it. */
  setSource(content: string | Uint8Array | null): Promise<void>;
  /** Writes a new candidate file in `dir` and returns its path. */
  candidate(content: string): Promise<string>;
  cleanup(): Promise<void>;
}

/** Creates a {@link TempSource} under the OS temp directory. */
export async function tempSource(prefix = 's3-sqs-sync-contract-'): Promise<TempSource> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const path = join(dir, 'registry.json');
  let candidates = 0;
  return {
    dir,
    path,
    async setSource(content) {
      if (content === null) {
        await rm(path, { force: true });
        return;
      }
      const temp = `${path}.writing`;
      await writeFile(temp, content);
      await rename(temp, path);
    },
    async candidate(content) {
      const candidate = join(dir, `candidate-${++candidates}.json`);
      await writeFile(candidate, content);
      return candidate;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
