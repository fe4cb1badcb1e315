import { refuseUrl as refuse } from '../errors.ts';

/**
 * What one pass over the input found. The authority runs from the scheme to `authorityEnd` (the
 * first '/', '?' or '#'); `query` and `fragment` are the first '?' and '#' after it, or -1.
 */
export interface Scan {
  readonly authorityEnd: number;
  /** The authority is non-empty lowercase labels of [a-z0-9-] joined by single dots. */
  readonly plainAuthority: boolean;
  readonly query: number;
  readonly fragment: number;
  /** A '%' appears between the authority and the query. */
  readonly percent: boolean;
}

/**
 * The single pass every parse starts with: it refuses control characters and finds the
 * boundaries the rest of the parse needs, so nothing scans the input again.
 */
// Character classes for `scan`, one table lookup per character (faster in V8 than range tests).
const HOST_CHAR = 0;
const DOT = 1;
const AUTHORITY_END = 2;
const CONTROL = 3;
const OTHER = 4;
const AUTHORITY_CLASS = new Uint8Array(128).fill(OTHER);
const TAIL_CLASS = new Uint8Array(128);
const QUERY = 1;
const FRAGMENT = 2;
const PERCENT = 5;
for (let c = 0; c < 0x20; c++) AUTHORITY_CLASS[c] = CONTROL;
AUTHORITY_CLASS[0x7f] = CONTROL;
for (const [from, to] of [
  [0x61, 0x7a],
  [0x30, 0x39],
  [0x2d, 0x2d],
] as const) {
  for (let c = from; c <= to; c++) AUTHORITY_CLASS[c] = HOST_CHAR;
}
AUTHORITY_CLASS[0x2e] = DOT;
for (const c of [0x2f, 0x3f, 0x23]) AUTHORITY_CLASS[c] = AUTHORITY_END; // / ? #
for (let c = 0; c < 0x20; c++) TAIL_CLASS[c] = CONTROL;
TAIL_CLASS[0x7f] = CONTROL;
TAIL_CLASS[0x3f] = QUERY;
TAIL_CLASS[0x23] = FRAGMENT;
TAIL_CLASS[0x25] = PERCENT;

export function scan(input: string, start: number): Scan {
  const length = input.length;
  let plain = true;
  let i = start;
  let labelStart = start;
  for (; i < length; i++) {
    const c = input.charCodeAt(i);
    const kind = c < 128 ? (AUTHORITY_CLASS[c] as number) : OTHER;
    if (kind === HOST_CHAR) continue;
    if (kind === DOT) {
      if (i === labelStart) plain = false; // empty label
      labelStart = i + 1;
    } else if (kind === AUTHORITY_END) {
      break;
    } else {
      if (kind === CONTROL) refuse(input, 'contains a control character');
      plain = false;
    }
  }
  if (i === labelStart) plain = false; // empty authority or trailing dot
  const authorityEnd = i;
  let query = -1;
  let fragment = -1;
  let percent = false;
  for (; i < length; i++) {
    const c = input.charCodeAt(i);
    if (c >= 128) continue;
    const kind = TAIL_CLASS[c] as number;
    if (kind === 0) continue;
    if (kind === CONTROL) refuse(input, 'contains a control character');
    if (kind === QUERY) {
      if (query === -1) query = i;
    } else if (kind === FRAGMENT) {
      if (fragment === -1) fragment = i;
    } else if (query === -1) {
      percent = true;
    }
  }
  return { authorityEnd, plainAuthority: plain, query, fragment, percent };
}
