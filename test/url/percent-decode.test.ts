import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formDecode, percentDecode } from '../../src/url/percent-decode.ts';

function outcome(decode: (s: string) => string, input: string): { value: string } | { error: string } {
  try {
    return { value: decode(input) };
  } catch (error) {
    return { error: (error as Error).name };
  }
}

const byte = fc.integer({ min: 0, max: 255 }).map((b) => `%${b.toString(16).padStart(2, '0')}`);
const piece = fc.oneof(
  byte,
  byte.map((s) => s.toUpperCase()),
  fc.string({ unit: 'grapheme', maxLength: 4 }),
  fc.constantFrom('%', '%e', '%g1', '%%', '%EF%BB%BF', '%C0%80', '%ED%A0%80', '%F4%90%80%80', '%F0%9F%98%80'),
);

describe('percentDecode', () => {
  it('agrees with decodeURIComponent on every input, value or URIError', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const input = pieces.join('');
        expect(outcome(percentDecode, input)).toStrictEqual(outcome(decodeURIComponent, input));
      }),
      { seed: 20_261_122, numRuns: 20_000 },
    );
  });

  it.each([
    ['plain', 'plain'],
    ['a%20b%2Fc', 'a b/c'],
    ['caf%C3%A9', 'café'],
    ['%EF%BB%BFbom', '\ufeffbom'],
    ['%F0%9F%98%80', '😀'],
  ])('decodes %s', (input, expected) => {
    expect(percentDecode(input)).toBe(expected);
  });

  it.each(['%', '%z1', '%C3', '%C3%28', '%C0%80', '%ED%A0%80', '%80'])('throws URIError for %s', (input) => {
    expect(() => percentDecode(input)).toThrow(URIError);
  });
});

describe('formDecode', () => {
  it.each([
    ['red+flower.jpg', 'red flower.jpg'],
    ['a%2Bb', 'a+b'],
    ['a+%2B+b', 'a + b'],
    ['100%25', '100%'],
    ['%2B%2B', '++'],
    ['plain', 'plain'],
  ])('decodes %s as a form value', (input, expected) => {
    expect(formDecode(input)).toBe(expected);
  });

  it('matches URLSearchParams on well-formed input', () => {
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 8 }), (pieces) => {
        const input = pieces.join('').replaceAll('&', '').replaceAll('=', '');
        const ours = outcome(formDecode, input);
        if ('value' in ours) expect(ours.value).toBe(new URLSearchParams(`k=${input}`).get('k'));
      }),
      { seed: 20_261_130, numRuns: 2_000 },
    );
  });

  it('throws URIError on malformed escapes', () => {
    expect(() => formDecode('a+%zz')).toThrow(URIError);
  });
});
