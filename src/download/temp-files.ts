import { randomBytes } from 'node:crypto';
import { type FileHandle, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Temp files are `.<target name>.<16 hex>.s3-sqs-sync.tmp` beside the target. */
export const TEMP_FILE_SUFFIX = '.s3-sqs-sync.tmp';
const TEMP_FILE_PATTERN = /^\..*\.[0-9a-f]{16}\.s3-sqs-sync\.tmp$/;

/** A new, unique temp file name beside `target`. */
export function tempPathFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${randomBytes(8).toString('hex')}${TEMP_FILE_SUFFIX}`);
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** fsync a directory, so a rename in it is durable. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    // Some platforms and file systems cannot fsync a directory; the rename itself has happened.
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw error;
  } finally {
    await handle?.close();
  }
}

/** Options for {@link sweepTempFiles}. */
export interface SweepTempFilesOptions {
  /**
   * Only remove temp files at least this old, so a sweep cannot break a download in progress in
   * another process that shares the directory.
   * @defaultValue 0 (all of them: right at start-up, before this process downloads anything)
   */
  readonly olderThanMs?: number;
}

/**
 * Removes the temp files a crashed or killed process left in `dir` (only files named by
 * {@link downloadS3Object}: `.<name>.<16 hex>.s3-sqs-sync.tmp`). Returns the paths removed.
 */
export async function sweepTempFiles(dir: string, options: SweepTempFilesOptions = {}): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('Expected `dir` to be a directory path');
  const olderThanMs = options.olderThanMs ?? 0;
  if (typeof olderThanMs !== 'number' || Number.isNaN(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(`Expected \`olderThanMs\` to be a non-negative number, received ${String(olderThanMs)}`);
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of await readdir(dir)) {
    if (!TEMP_FILE_PATTERN.test(name)) continue;
    const path = join(dir, name);
    if (olderThanMs > 0) {
      const info = await stat(path).catch(() => undefined);
      if (info === undefined || now - info.mtimeMs < olderThanMs) continue;
    }
    try {
      await unlink(path);
      removed.push(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}
