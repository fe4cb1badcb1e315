import { constants } from 'node:fs';
import { access, type FileHandle, lstat, readlink, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileSystemError, type ObjectErrorOptions } from '../errors.ts';

/** The file a download replaces, found and checked before anything is requested from S3. */
export interface ResolvedTarget {
  /** The file the rename replaces: the target itself, or the file its symlinks name. */
  readonly path: string;
  /** Mode and owner of the file being replaced; absent when there is none yet. */
  readonly existing?: { readonly mode: number; readonly uid: number; readonly gid: number };
}

// As many links as Linux follows before ELOOP.
const MAX_LINKS = 40;

function errnoError(code: string, syscall: string, path: string, text: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: ${text}, ${syscall} '${path}'`), { code, syscall, path });
}

/**
 * Follows `target`'s symlinks (as write-file-atomic does: the file a link names is replaced,
 * the link stays; a dangling link gets the file it names), then checks that what is left can be
 * replaced: not a directory, in a directory that exists and can be written to. File-system
 * failures come back typed through `fileSystemError`, naming the target.
 */
export async function resolveTarget(target: string, context: ObjectErrorOptions): Promise<ResolvedTarget> {
  const fail = (error: unknown, message: string): unknown => fileSystemError(error, message, context) ?? error;
  let path = target;
  for (let links = 0; ; links++) {
    let info: Awaited<ReturnType<typeof lstat>>;
    try {
      info = await lstat(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fail(error, `Cannot write ${target}`);
      await checkDirectory(dirname(path), target, fail);
      return { path };
    }
    if (info.isSymbolicLink()) {
      if (links === MAX_LINKS) {
        throw fail(errnoError('ELOOP', 'open', target, 'too many symbolic links'), `Cannot write ${target}`);
      }
      try {
        path = resolve(dirname(path), await readlink(path));
      } catch (error) {
        throw fail(error, `Cannot write ${target}: cannot follow its symbolic link ${path}`);
      }
      continue;
    }
    if (info.isDirectory()) {
      throw fail(
        errnoError('EISDIR', 'open', path, 'illegal operation on a directory'),
        `Cannot replace ${target}: it is a directory`,
      );
    }
    // The file was found in it, so the directory exists: only whether it can be written is open.
    await checkWritable(dirname(path), target, fail);
    return { path, existing: { mode: info.mode & 0o7777, uid: info.uid, gid: info.gid } };
  }
}

async function checkDirectory(
  dir: string,
  target: string,
  fail: (error: unknown, message: string) => unknown,
): Promise<void> {
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) throw errnoError('ENOTDIR', 'stat', dir, 'not a directory');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'ENOTDIR' ? 'is not a directory' : 'cannot be read';
    throw fail(error, `Cannot write ${target}: its directory ${dir} ${why}`);
  }
  await checkWritable(dir, target, fail);
}

async function checkWritable(
  dir: string,
  target: string,
  fail: (error: unknown, message: string) => unknown,
): Promise<void> {
  try {
    await access(dir, constants.W_OK);
  } catch (error) {
    throw fail(error, `Cannot write ${target}: its directory ${dir} is not writable`);
  }
}

/**
 * Gives the temp file the mode and owner of the file it will replace. The owner only where the
 * process may set it (root, or a group it belongs to); refusals are ignored, as chown(1) by a
 * normal user would be refused anyway.
 */
export async function matchExisting(handle: FileHandle, existing: NonNullable<ResolvedTarget['existing']>) {
  const own = await handle.stat();
  if (own.uid !== existing.uid || own.gid !== existing.gid) {
    await handle.chown(existing.uid, existing.gid).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPERM' && error.code !== 'EINVAL' && error.code !== 'ENOSYS') throw error;
    });
  }
  // After chown, which clears set-user-ID bits.
  await handle.chmod(existing.mode);
}
