import { createReadStream } from 'node:fs';
import { extname } from 'node:path';
import { TextDecoder } from 'node:util';

/** What processing a text file found. */
export interface TextStats {
  /** Size in bytes, as stored. */
  readonly bytes: number;
  /** Lines, counting a last line without a newline (an empty file has none). */
  readonly lines: number;
  /** Runs of characters between white space. */
  readonly words: number;
  /** The first characters of the text (at most `extractLength`), a leading byte order mark dropped. */
  readonly extract: string;
  /** Whether the text goes on past `extract`. */
  readonly truncated: boolean;
  /** A guess from the key's extension, else from the type S3 stored, always with `charset=utf-8`. */
  readonly contentType: string;
}

/** The file is not UTF-8 text: a permanent failure, the same bytes would fail again. */
export class NotTextError extends Error {
  override readonly name = 'NotTextError';
}

export const EXTRACT_LENGTH = 200;

const TYPES_BY_EXTENSION: Readonly<Record<string, string>> = {
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.md': 'text/markdown',
  '.csv': 'text/csv',
  '.tsv': 'text/tab-separated-values',
  '.json': 'application/json',
  '.ndjson': 'application/x-ndjson',
  '.xml': 'application/xml',
  '.yaml': 'application/yaml',
  '.yml': 'application/yaml',
  '.html': 'text/html',
  '.htm': 'text/html',
  '.css': 'text/css',
};

/** Guesses a text content type; S3's stored type counts only when it already says text. */
export function guessContentType(key: string, storedType: string | undefined): string {
  const byExtension = TYPES_BY_EXTENSION[extname(key).toLowerCase()];
  const stored = storedType?.split(';')[0]?.trim().toLowerCase();
  const type = byExtension ?? (stored?.startsWith('text/') ? stored : 'text/plain');
  return `${type}; charset=utf-8`;
}

/**
 * Reads `path` once, as a stream (memory stays flat whatever the size), and counts it. Refuses
 * with {@link NotTextError} a file holding a NUL byte (binary formats nearly always do; text never
 * should) or bytes that are not valid UTF-8.
 */
export async function analyzeTextFile(
  path: string,
  { key, contentType, signal }: { key: string; contentType?: string | undefined; signal?: AbortSignal | undefined },
): Promise<TextStats> {
  // `fatal` makes invalid UTF-8 throw instead of turning into U+FFFD, which would pass as text.
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let bytes = 0;
  let lines = 0;
  let words = 0;
  let extract = '';
  let taken = 0;
  let truncated = false;
  let endsInWord = false;
  let endsInNewline = true;

  const count = (text: string): void => {
    if (text === '') return;
    for (let at = text.indexOf('\n'); at !== -1; at = text.indexOf('\n', at + 1)) lines++;
    const runs = text.match(/\S+/g)?.length ?? 0;
    // A word cut by a chunk boundary was counted in the chunk before.
    words += runs - (endsInWord && /^\S/.test(text) ? 1 : 0);
    endsInWord = /\S$/.test(text);
    endsInNewline = text.endsWith('\n');
    if (taken === EXTRACT_LENGTH) {
      truncated = true;
      return;
    }
    // By code point, so the extract never ends in half a surrogate pair.
    for (const point of text) {
      if (taken === EXTRACT_LENGTH) {
        truncated = true;
        break;
      }
      extract += point;
      taken++;
    }
  };

  for await (const chunk of createReadStream(path, { signal })) {
    const buffer = chunk as Buffer;
    const nul = buffer.indexOf(0);
    if (nul !== -1) throw new NotTextError(`not a text file: a NUL byte at offset ${bytes + nul}`);
    bytes += buffer.length;
    count(decodeOrRefuse(decoder, buffer, true));
  }
  count(decodeOrRefuse(decoder, undefined, false));
  if (!endsInNewline) lines++;
  return { bytes, lines, words, extract, truncated, contentType: guessContentType(key, contentType) };
}

function decodeOrRefuse(decoder: TextDecoder, buffer: Buffer | undefined, stream: boolean): string {
  try {
    return decoder.decode(buffer, { stream });
  } catch (error) {
    throw new NotTextError('not a text file: the bytes are not valid UTF-8', { cause: error });
  }
}
