import { constants, isUtf8 } from 'node:buffer';
import { open } from 'node:fs/promises';
import { fileSystemErrorClass, NotFoundError, ParseError, TooLargeError } from '../errors.ts';

/** Options for {@link readJsonFile}. */
export interface ReadJsonOptions {
  /** Refuse larger files (`ERR_TOO_LARGE`), checked before reading. */
  readonly maxBytes?: number | undefined;
  /** Accept (and drop) a leading UTF-8 byte order mark instead of refusing the file. */
  readonly allowBom?: boolean | undefined;
  readonly signal?: AbortSignal | undefined;
}

const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
// A key that JSON.parse would create as `__proto__` or `constructor` must be spelled with one of
// these in the raw bytes ("\u" covers escaped spellings such as "\u005f_proto__").
const SUSPECT = ['__proto__', 'constructor', '\\u'] as const;
// The longest string V8 can build: larger files cannot be parsed as one JSON text.
const MAX_TEXT_BYTES = constants.MAX_STRING_LENGTH;

function fsError(error: unknown, path: string): Error {
  const Typed = fileSystemErrorClass(error);
  if (Typed === NotFoundError) return new NotFoundError(`${path} does not exist`, { path, cause: error });
  if (Typed !== undefined) return new Typed(`${path} cannot be read`, { path, cause: error });
  if ((error as NodeJS.ErrnoException).code === 'ABORT_ERR') return error as Error;
  return new ParseError(`${path} could not be read: ${(error as Error).message}`, { path, cause: error });
}

/**
 * Throws `ERR_PARSE` when parsed JSON holds an own `__proto__` key, or a `constructor` key whose
 * value has a `prototype`: harmless in the parsed value itself, but the classic way to pollute
 * prototypes once code merges or assigns the data into other objects.
 */
function refuseProtoKeys(value: unknown, path: string): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (Array.isArray(item)) {
      for (const element of item) if (typeof element === 'object' && element !== null) stack.push(element);
      continue;
    }
    if (Object.hasOwn(item, '__proto__')) throw new ParseError(`${path} holds a forbidden "__proto__" key`, { path });
    const ctor = (item as { constructor?: unknown }).constructor;
    if (
      Object.hasOwn(item, 'constructor') &&
      typeof ctor === 'object' &&
      ctor !== null &&
      Object.hasOwn(ctor, 'prototype')
    ) {
      throw new ParseError(`${path} holds a forbidden "constructor.prototype" key`, { path });
    }
    for (const key in item) {
      const child = (item as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}

/**
 * Reads and parses one JSON file strictly: missing → `ERR_NOT_FOUND`; over `maxBytes` →
 * `ERR_TOO_LARGE` (before reading); empty, not UTF-8, a BOM (unless allowed), invalid or
 * truncated JSON, or a prototype-polluting key → `ERR_PARSE`.
 */
export async function readJsonFile(path: string, options: ReadJsonOptions = {}): Promise<unknown> {
  const { maxBytes, signal } = options;
  let bytes: Buffer;
  try {
    const handle = await open(path, 'r');
    try {
      const { size } = await handle.stat();
      const limit = Math.min(maxBytes ?? MAX_TEXT_BYTES, MAX_TEXT_BYTES);
      if (size > limit)
        throw new TooLargeError(`${path} is ${size} bytes, over ${limit}`, { path, maxBytes: limit, bytes: size });
      bytes = await handle.readFile(signal === undefined ? {} : { signal });
      // The file may have grown since fstat.
      if (bytes.length > limit) {
        throw new TooLargeError(`${path} is over ${limit} bytes`, { path, maxBytes: limit, bytes: bytes.length });
      }
    } finally {
      await handle.close();
    }
  } catch (error) {
    if (error instanceof TooLargeError) throw error;
    throw fsError(error, path);
  }

  if (bytes.length >= 3 && bytes[0] === BOM[0] && bytes[1] === BOM[1] && bytes[2] === BOM[2]) {
    if (options.allowBom !== true) {
      throw new ParseError(`${path} starts with a UTF-8 byte order mark (set allowBom to accept it)`, { path });
    }
    bytes = bytes.subarray(3);
  }
  if (!isUtf8(bytes)) throw new ParseError(`${path} is not valid UTF-8`, { path });
  const text = bytes.toString('utf8');
  if (text.trim().length === 0) throw new ParseError(`${path} is empty`, { path });
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new ParseError(`${path} is not valid JSON: ${(error as Error).message}`, { path, cause: error });
  }
  if (SUSPECT.some((needle) => bytes.includes(needle))) refuseProtoKeys(data, path);
  return data;
}
