import { constants, isUtf8 } from 'node:buffer';
import { type FileHandle, open } from 'node:fs/promises';
import { fileSystemError, ParseError, TooLargeError } from '../errors.ts';
import { mayHoldProtoKeys, refuseProtoKeys } from './proto-keys.ts';

/** Options for {@link readJsonFile}. */
export interface ReadJsonOptions {
  /** Refuse larger files (`ERR_TOO_LARGE`): checked before reading, and never read past. */
  readonly maxBytes?: number | undefined;
  /** Accept (and drop) a leading UTF-8 byte order mark instead of refusing the file. */
  readonly allowBom?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

// The longest string V8 can build: larger files cannot be parsed as one JSON text.
const MAX_TEXT_BYTES = constants.MAX_STRING_LENGTH;
// Large enough that a file costs a handful of reads, small enough that `close()` interrupts a
// long read of a slow disk or a pipe between two of them.
const CHUNK_BYTES = 16 * 1024 * 1024;
// The first buffer for a file whose size fstat does not know (a FIFO, /proc): grown as needed.
const UNKNOWN_SIZE_BYTES = 64 * 1024;
const LATIN_ESCAPE = '\\u00';
// Node makes an external string from more than about 1 MiB (EXTERN_APEX in src/string_bytes.cc).
const DECODE_SLICE_BYTES = 512 * 1024;
// Above this size the sliced decode costs more than it saves: its parts and the joined string
// are both alive until JSON.parse flattens it (200 MiB: 1.1 GiB peak against 0.7 GiB, and slower).
const DECODE_SLICED_MAX_BYTES = 96 * 1024 * 1024;

function readError(error: unknown, path: string): unknown {
  if (error instanceof TooLargeError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = code === 'ENOENT' || code === 'ENOTDIR' ? `${path} does not exist` : `${path} cannot be read`;
  // Anything else (an abort: `signal.reason`) is the caller's to map.
  return fileSystemError(error, message, { path }) ?? error;
}

function tooLarge(path: string, limit: number, bytes: number, exact: boolean): TooLargeError {
  const size = exact ? `is ${bytes} bytes` : 'is larger';
  return new TooLargeError(`${path} ${size}, over ${limit}`, { path, maxBytes: limit, bytes });
}

/**
 * Reads at most `limit + 1` bytes: a file that grows after fstat, or one whose size fstat does not
 * know, is refused without being read to its end (a FIFO could be endless).
 */
async function readBounded(
  handle: FileHandle,
  path: string,
  size: number,
  limit: number,
  signal: AbortSignal | undefined,
): Promise<Buffer> {
  let buffer = Buffer.allocUnsafe(Math.min(size > 0 ? size + 1 : UNKNOWN_SIZE_BYTES, limit + 1));
  let length = 0;
  for (;;) {
    signal?.throwIfAborted();
    if (length === buffer.length) {
      if (length > limit) throw tooLarge(path, limit, length, false);
      const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const wanted = Math.min(buffer.length - length, CHUNK_BYTES);
    const { bytesRead } = await handle.read(buffer, length, wanted, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return buffer.subarray(0, length);
}

/** JSON text checked to be UTF-8, and whether it holds an escape that could spell a key. */
interface JsonText {
  readonly text: string;
  readonly latinEscape: boolean;
}

/** Not UTF-8, or a BOM (unless allowed) → `ERR_PARSE`. Everything later needs only the text. */
function decode(bytes: Buffer, path: string, allowBom: boolean): JsonText {
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    if (!allowBom) {
      throw new ParseError(`${path} starts with a UTF-8 byte order mark (set allowBom to accept it)`, { path });
    }
    bytes = bytes.subarray(3);
  }
  // isUtf8 is a vectorised scan (about 2 ms for 50 MiB); toString would silently replace bad bytes.
  if (!isUtf8(bytes)) throw new ParseError(`${path} is not valid UTF-8`, { path });
  // Every escape that could spell a letter or `_` starts with `\u00`; a `\` is rare in most JSON,
  // and this byte search skips from one to the next (memchr), so it usually spares the escape scan.
  return { text: toHeapString(bytes), latinEscape: bytes.includes(LATIN_ESCAPE) };
}

/**
 * Decodes UTF-8 the way `readFileSync(path, 'utf8')` does, into an ordinary V8 heap string.
 * `Buffer#toString` of a large buffer makes an external string instead (outside the heap, up to
 * twice the file's size, counted as external memory), and with the previous snapshot still alive
 * that pressure brings on extra full collections while JSON.parse runs: about a third more CPU
 * time for a 50 MiB file. Slices below Node's external-string threshold, joined once, avoid it,
 * up to `DECODE_SLICED_MAX_BYTES` (`npm run bench -- store` measures both sides of it).
 */
function toHeapString(bytes: Buffer): string {
  if (bytes.length <= DECODE_SLICE_BYTES || bytes.length > DECODE_SLICED_MAX_BYTES) return bytes.toString('utf8');
  const parts: string[] = [];
  let start = 0;
  while (start < bytes.length) {
    let end = Math.min(start + DECODE_SLICE_BYTES, bytes.length);
    // Never cut a character: back up to the start of the sequence (the bytes are valid UTF-8).
    while (end < bytes.length && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
    parts.push(bytes.toString('utf8', start, end));
    start = end;
  }
  return parts.join('');
}

/** Empty, invalid or truncated JSON, or a prototype-polluting key → `ERR_PARSE`. */
function parse({ text, latinEscape }: JsonText, path: string): unknown {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    // Told apart only on failure: a whitespace-only file is a common publishing mistake.
    if (text.trim().length === 0) throw new ParseError(`${path} is empty`, { path });
    throw new ParseError(`${path} is not valid JSON: ${(error as Error).message}`, { path, cause: error });
  }
  if (mayHoldProtoKeys(text, latinEscape)) refuseProtoKeys(data, path, { path });
  return data;
}

async function readBytes(path: string, options: ReadJsonOptions): Promise<Buffer> {
  const limit = Math.min(options.maxBytes ?? MAX_TEXT_BYTES, MAX_TEXT_BYTES);
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      if (size > limit) throw tooLarge(path, limit, size, true);
      return await readBounded(handle, path, size, limit, options.signal);
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw readError(error, path);
  }
}

/**
 * Reads and parses one JSON file strictly: missing → `ERR_NOT_FOUND`; not readable →
 * `ERR_ACCESS_DENIED`; a directory or another I/O failure → `ERR_FILE_SYSTEM`; over `maxBytes` →
 * `ERR_TOO_LARGE` (before reading, or as soon as a growing file passes it); empty, not UTF-8, a
 * BOM (unless allowed), invalid or truncated JSON, or a prototype-polluting key → `ERR_PARSE`.
 */
export async function readJsonFile(path: string, options: ReadJsonOptions = {}): Promise<unknown> {
  // No variable holds the bytes while JSON.parse runs: the collection that parsing a large file
  // triggers can free them (as much memory as the file) instead of marking around them.
  return parse(decode(await readBytes(path, options), path, options.allowBom === true), path);
}
