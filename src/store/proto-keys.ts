import { type ObjectErrorOptions, ParseError } from '../errors.ts';

// A key that JSON.parse creates as `__proto__` or `constructor` is spelled literally in the text,
// or with at least one `\u` escape of an ASCII letter or `_` (U+005F–U+007A, so `\u005`, `\u006`
// or `\u007`). Escapes of other characters (`\u00e9`, `\u4e2d`, as Python writes by default) can
// never spell either key, so they do not make a file suspect.
const LITERAL_KEYS = /__proto__|constructor/;
const LETTER_ESCAPE = /\\u00[5-7]/;

/**
 * True when JSON `text` could hold a `__proto__` or `constructor` key. Cheap: one regular
 * expression scan, plus a second only when the text holds a `\u00` escape at all (`hasEscape`,
 * found by the caller with a byte search). A false positive only costs the exact check.
 */
export function mayHoldProtoKeys(text: string, hasEscape: boolean): boolean {
  return LITERAL_KEYS.test(text) || (hasEscape && LETTER_ESCAPE.test(text));
}

/**
 * Throws `ERR_PARSE` when `value` holds an own `__proto__` key, or a `constructor` key whose value
 * has an own `prototype`: harmless in the parsed value itself, but the classic way to pollute
 * prototypes once code merges or assigns the data into other objects. `where` names the data in
 * the message ("/srv/registry.json", "the loaded data"). Data that did not come from JSON.parse
 * may share objects or hold cycles: `acyclic: false` walks each object once.
 */
export function refuseProtoKeys(value: unknown, where: string, context: ObjectErrorOptions, acyclic = true): void {
  const seen = acyclic ? undefined : new WeakSet<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item !== 'object' || item === null) continue;
    if (seen !== undefined) {
      if (seen.has(item)) continue;
      seen.add(item);
    }
    if (Array.isArray(item)) {
      for (const element of item) if (typeof element === 'object' && element !== null) stack.push(element);
      continue;
    }
    if (Object.hasOwn(item, '__proto__')) throw new ParseError(`${where} holds a forbidden "__proto__" key`, context);
    const ctor = (item as { constructor?: unknown }).constructor;
    if (
      Object.hasOwn(item, 'constructor') &&
      typeof ctor === 'object' &&
      ctor !== null &&
      Object.hasOwn(ctor, 'prototype')
    ) {
      throw new ParseError(`${where} holds a forbidden "constructor.prototype" key`, context);
    }
    for (const key of Object.keys(item)) {
      const child = (item as Record<string, unknown>)[key];
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}
