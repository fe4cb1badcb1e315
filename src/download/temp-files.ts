import { randomBytes } from 'node:crypto';
import { type FileHandle, lstat, open, readdir, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fileSystemError } from '../errors.ts';

/** Temp files are `.<target name>.<pid>.<16 hex>.s3-sqs-sync.tmp` beside the target. */
export const TEMP_FILE_SUFFIX = '.s3-sqs-sync.tmp';
// The pid lets a sweep tell a live download's file from a crash's leftover. Files written before
// the pid was added (`.<name>.<16 hex>.s3-sqs-sync.tmp`) still match, as leftovers.
const TEMP_FILE_PATTERN = /^\..*?(?:\.(\d+))?\.[0-9a-f]{16}\.s3-sqs-sync\.tmp$/s;
const WITH_PID_PATTERN = /^\..*\.(\d+)\.[0-9a-f]{16}\.s3-sqs-sync\.tmp$/s;
// Linux, macOS and Windows all limit one path component to 255 (bytes or UTF-16 units).
const NAME_MAX = 255;

// Temp files this process is writing now, by name (the 16 random hex digits make names unique).
// A sweep in this process keeps them; one whose name carries our pid but is not here was left by
// an earlier process that had the same pid (pid 1 in every container start).
const live = new Set<string>();

/**
 * A new, unique temp file name beside `target`, registered as live until {@link releaseTempPath}.
 * The target's name is shortened (on a character boundary) so that the temp name stays within
 * NAME_MAX even for a target whose name is close to it.
 */
export function claimTempPath(target: string): string {
  const tail = `.${process.pid}.${randomBytes(8).toString('hex')}${TEMP_FILE_SUFFIX}`;
  const room = NAME_MAX - 1 - Buffer.byteLength(tail);
  const name = `.${truncateUtf8(basename(target), room)}${tail}`;
  live.add(name);
  return join(dirname(target), name);
}

/** The temp file is gone (renamed or removed): a sweep may treat its name as any other. */
export function releaseTempPath(path: string): void {
  live.delete(basename(path));
}

function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let bytes = 0;
  let end = 0;
  for (const char of text) {
    bytes += Buffer.byteLength(char);
    if (bytes > maxBytes) break;
    end += char.length;
  }
  return text.slice(0, end);
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

/** True when a process with this id exists on this host (EPERM: it exists but is not ours). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the temp file `name` may belong to a download still in progress. */
function isLive(name: string): boolean {
  const pid = Number(WITH_PID_PATTERN.exec(name)?.[1]);
  // 0 and negative ids address process groups in kill(2); such a name is no live download's.
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return live.has(name);
  return isRunning(pid);
}

/** Options for {@link sweepTempFiles}. */
export interface SweepTempFilesOptions {
  /**
   * Only remove leftovers at least this old (by modification time). Temp files of downloads in
   * progress on this host are kept whatever their age; this is for a directory shared by hosts
   * (a network file system), where another host's process cannot be checked.
   * @defaultValue 0 (every leftover)
   */
  readonly olderThanMs?: number | undefined;
}

/**
 * Removes the temp files a crashed or killed process left in `dir` (only files named by
 * {@link downloadS3Object}: `.<name>.<pid>.<16 hex>.s3-sqs-sync.tmp`). A file whose process is
 * still running on this host, or that belongs to a download in progress in this process, is
 * kept, so a sweep is safe at any time, also while another process downloads into the same
 * directory. Directories and other non-files are skipped. Returns the paths removed.
 *
 * @throws {S3SyncError} `ERR_NOT_FOUND` (no such directory), `ERR_ACCESS_DENIED`, `ERR_FILE_SYSTEM`.
 */
export async function sweepTempFiles(dir: string, options: SweepTempFilesOptions = {}): Promise<string[]> {
  if (typeof dir !== 'string' || dir === '') throw new TypeError('Expected `dir` to be a directory path');
  const olderThanMs = options.olderThanMs ?? 0;
  if (typeof olderThanMs !== 'number' || Number.isNaN(olderThanMs) || olderThanMs < 0) {
    throw new RangeError(`Expected \`olderThanMs\` to be a non-negative number, received ${String(olderThanMs)}`);
  }
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    throw fileSystemError(error, `Cannot list ${dir} to sweep its temp files`, { path: dir }) ?? error;
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const name of names) {
    if (!TEMP_FILE_PATTERN.test(name) || isLive(name)) continue;
    const path = join(dir, name);
    const info = await lstat(path).catch(() => undefined);
    if (info === undefined || !info.isFile()) continue;
    if (olderThanMs > 0 && now - info.mtimeMs < olderThanMs) continue;
    try {
      await unlink(path);
      removed.push(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // Gone already (another sweep), or replaced by a directory since the lstat.
      if (code === 'ENOENT' || code === 'EISDIR') continue;
      throw fileSystemError(error, `Cannot remove the temp file ${path}`, { path }) ?? error;
    }
  }
  return removed;
}
