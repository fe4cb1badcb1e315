import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageError } from '../../src/errors.ts';
import { type AnnouncedObject, decodeSyncMessage } from '../../src/sqs/messages.ts';
import { formDecode } from '../../src/url/percent-decode.ts';
import { parseS3Url } from '../../src/url/s3-url.ts';

// Fixed seed: a failure reproduces on every run and on every machine.
const SEED = 20_261_130;
const options = { endpoints: [{ url: 'http://127.0.0.1:9000' }] };

/** The valid bodies: every example in docs/messages.md, and a few more shapes. */
function validBodies(): string[] {
  const doc = readFileSync(new URL('../../docs/messages.md', import.meta.url), 'utf8');
  const section = doc.split(/^## Examples/m)[1] ?? '';
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '');
  const messages = blocks.filter((_, i) => i % 2 === 0);
  const record = (eventName: string, key: string) => ({
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2026-11-30T08:00:00.000Z',
    eventName,
    s3: { bucket: { name: 'my.bucket-2' }, object: { key, size: 0, eTag: '"a1-3"', sequencer: 'ff' } },
  });
  return [
    ...messages,
    JSON.stringify({
      Records: [
        record('ObjectCreated:Copy', 'a+b%2Bc'),
        record('LifecycleExpiration:Delete', 'x'),
        record('ObjectRestore:Post', 'y'),
      ],
    }),
    JSON.stringify({ s3_url: 'http://127.0.0.1:9000/local-bucket/dir/file%20name.json?versionId=v%2B1' }),
    JSON.stringify({ s3_uri: 's3://arn:aws:s3:us-west-2:123456789012:accesspoint/registry-ap/k' }),
  ];
}

const VALID = validBodies();

/**
 * Every string and number a body holds, following JSON held in strings (an SNS `Message`), so an
 * announced value can be traced back to the text that said it.
 */
function said(body: string): { strings: Set<string>; numbers: Set<number> } {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const walk = (value: unknown, depth: number): void => {
    if (typeof value === 'string') {
      strings.add(value);
      if (depth < 3) {
        try {
          walk(JSON.parse(value), depth + 1);
        } catch {
          // not JSON: just a string
        }
      }
    } else if (typeof value === 'number') {
      numbers.add(value);
    } else if (typeof value === 'object' && value !== null) {
      for (const [name, v] of Object.entries(value)) {
        strings.add(name);
        walk(v, depth);
      }
    }
  };
  walk(JSON.parse(body), 0);
  return { strings, numbers };
}

function tryForm(s: string): string | undefined {
  try {
    return formDecode(s);
  } catch {
    return undefined;
  }
}

/** Fails unless every announced field can be traced to the body, after the documented decoding. */
function checkTraceable(body: string, announced: readonly AnnouncedObject[]): void {
  const { strings, numbers } = said(body);
  for (const o of announced) {
    expect(['created', 'removed']).toContain(o.kind);
    expect(o.bucket.length).toBeGreaterThan(0);
    expect(o.key.length).toBeGreaterThan(0);
    if (o.source === 'url') {
      const from = [...strings].some((s) => {
        try {
          const p = parseS3Url(s, options);
          return p.bucket === o.bucket && p.key === o.key && p.versionId === o.versionId && p.region === o.region;
        } catch {
          return false;
        }
      });
      expect(from, `${o.bucket}/${o.key} from a URL in ${body}`).toBe(true);
      expect(o.kind).toBe('created');
      continue;
    }
    expect(strings.has(o.bucket), `bucket ${o.bucket} in ${body}`).toBe(true);
    const keyFrom = o.source === 'eventbridge' ? strings.has(o.key) : [...strings].some((s) => tryForm(s) === o.key);
    expect(keyFrom, `key ${o.key} in ${body}`).toBe(true);
    for (const value of [o.versionId, o.sequencer, o.eventTime, o.region, o.eventName]) {
      if (value !== undefined) expect(strings.has(value), `${value} in ${body}`).toBe(true);
    }
    if (o.eTag !== undefined) expect(strings.has(o.eTag) || strings.has(`"${o.eTag}"`)).toBe(true);
    if (o.size !== undefined) expect(numbers.has(o.size)).toBe(true);
  }
}

const counts = { bodies: 0, announced: 0, ignored: 0, refused: 0 };
const byGenerator = new Map<string, { bodies: number; announced: number; ignored: number; refused: number }>();

/** Decodes one body: a list whose every entry is traceable to the body, or a MessageError. */
function check(generator: string, body: string): void {
  const tally = byGenerator.get(generator) ?? { bodies: 0, announced: 0, ignored: 0, refused: 0 };
  byGenerator.set(generator, tally);
  counts.bodies++;
  tally.bodies++;
  let announced: AnnouncedObject[];
  try {
    announced = decodeSyncMessage(body, options);
  } catch (error) {
    if (!(error instanceof MessageError)) throw error;
    expect(error.code).toBe('ERR_MESSAGE');
    expect(error.reason.length).toBeGreaterThan(0);
    counts.refused++;
    tally.refused++;
    return;
  }
  expect(Array.isArray(announced)).toBe(true);
  if (announced.length === 0) {
    counts.ignored++;
    tally.ignored++;
  } else {
    counts.announced++;
    tally.announced++;
  }
  checkTraceable(body, announced);
}

// Pieces that matter to JSON and to the decoders, so edits land on interesting boundaries.
const PIECES = [
  ...'"{}[],:+%\\ 0-.',
  '%2',
  '%zz',
  '%C3%A9',
  '\\"',
  'null',
  '""',
  '-1',
  '1.5',
  '__proto__',
  'constructor',
  'Records',
  's3_uri',
  'Type',
  'Event',
  'detail-type',
  'ObjectCreated:Put',
  'ObjectRemoved:Delete',
  'Notification',
  's3://',
  'evil.com',
  'é',
  '\u0000',
  '\ud800',
];

const textEdit = fc.record({
  op: fc.constantFrom('insert', 'delete', 'replace'),
  at: fc.nat(),
  text: fc.constantFrom(...PIECES),
});

function applyEdits(seed: string, edits: readonly { op: string; at: number; text: string }[]): string {
  let out = seed;
  for (const { op, at, text } of edits) {
    const i = at % (out.length + 1);
    if (op === 'insert') out = out.slice(0, i) + text + out.slice(i);
    else if (op === 'delete') out = out.slice(0, i) + out.slice(i + 1);
    else out = out.slice(0, i) + text + out.slice(i + 1);
  }
  return out;
}

/** Every path to a value in a JSON value, descending into an SNS `Message` string (marked '$json'). */
function paths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  const out: (string | number)[][] = [prefix];
  if (typeof value === 'string' && prefix.at(-1) === 'Message') {
    try {
      out.push(...paths(JSON.parse(value), [...prefix, '$json']).slice(1));
    } catch {
      // not JSON
    }
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, v] of Object.entries(value)) {
      out.push(...paths(v, [...prefix, Array.isArray(value) ? Number(name) : name]));
    }
  }
  return out;
}

type Structural = { op: 'delete' | 'replace' | 'duplicate'; pick: number; replacement: unknown };

/** Applies one structural edit at a path, re-encoding SNS `Message` strings on the way back. */
function editAt(value: unknown, path: readonly (string | number)[], edit: Structural): unknown {
  if (path.length === 0) return edit.op === 'replace' ? edit.replacement : value;
  const [head, ...rest] = path;
  if (head === '$json') return JSON.stringify(editAt(JSON.parse(value as string), rest, edit));
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const list: unknown[] = [...value];
    const i = head as number;
    if (rest.length === 0 && edit.op === 'delete') list.splice(i, 1);
    else if (rest.length === 0 && edit.op === 'duplicate') list.splice(i, 0, list[i]);
    else list[i] = editAt(list[i], rest, edit);
    return list;
  }
  const copy: Record<string, unknown> = { ...value };
  const name = head as string;
  if (rest.length === 0 && edit.op === 'delete') delete copy[name];
  else copy[name] = editAt(copy[name], rest, edit);
  return copy;
}

const interesting = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('', ' ', 'Registry_Prod', 'ab', '192.168.0.1', 'ffff', 'xyz', '"quoted"', 'a b', '%', '+'),
  fc.constantFrom(
    '2026-02-30T00:00:00Z',
    '2026-11-30T08:00:00Z',
    'ObjectRemoved:Delete',
    'Object Deleted',
    's3:TestEvent',
  ),
  fc.constantFrom('s3://other-bucket/k', 'https://s3.amazonaws.com.evil.com/b/k', 'http://127.0.0.1:9001/b/k'),
  fc.constantFrom(-1, 0, 1.5, 2 ** 53, Number.MAX_SAFE_INTEGER),
);

describe('decodeSyncMessage, fuzzed', () => {
  afterAll(() => {
    // The counts the lead reports; they are stable for the fixed seed.
    console.log(
      'decodeSyncMessage fuzz counts',
      JSON.stringify({ total: counts, byGenerator: Object.fromEntries(byGenerator) }),
    );
  });

  it('decodes every valid body it starts from', () => {
    for (const body of VALID) {
      check('valid', body);
      expect(() => decodeSyncMessage(body, options)).not.toThrow();
    }
  });

  it('gives nothing but MessageError, or traceable objects, for 4,000 text mutations of valid bodies', () => {
    fc.assert(
      fc.property(fc.constantFrom(...VALID), fc.array(textEdit, { minLength: 1, maxLength: 4 }), (seed, edits) => {
        check('text mutations', applyEdits(seed, edits));
      }),
      { seed: SEED, numRuns: 4_000 },
    );
  });

  it('… for 4,000 structural mutations of valid bodies (fields dropped, retyped, replaced, duplicated)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VALID),
        fc.array(
          fc.record({
            op: fc.constantFrom('delete', 'replace', 'duplicate'),
            pick: fc.nat(),
            replacement: interesting,
          }),
          {
            minLength: 1,
            maxLength: 3,
          },
        ),
        (seed, edits) => {
          let value: unknown = JSON.parse(seed);
          for (const edit of edits as Structural[]) {
            const all = paths(value);
            value = editAt(value, all[edit.pick % all.length] ?? [], edit);
          }
          check('structural mutations', JSON.stringify(value) ?? 'undefined');
        },
      ),
      { seed: SEED, numRuns: 4_000 },
    );
  });

  it('… for 1,000 arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (body) => check('arbitrary strings', body)),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('… for 1,000 arbitrary JSON values', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), (body) => check('arbitrary JSON', body)),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('… for 1,000 JSON objects built from the fields that name the shapes', () => {
    const markers = fc.constantFrom(
      'Type',
      'Message',
      'Records',
      'Event',
      'detail-type',
      'source',
      'detail',
      's3_uri',
      's3_url',
    );
    fc.assert(
      fc.property(fc.dictionary(markers, interesting, { minKeys: 1, maxKeys: 3 }), (value) =>
        check('shape fields', JSON.stringify(value)),
      ),
      { seed: SEED, numRuns: 1_000 },
    );
  });

  it('covered at least 10,000 bodies, and announced objects from many of them', () => {
    expect(counts.bodies).toBeGreaterThanOrEqual(10_000);
    expect(counts.announced).toBeGreaterThan(1_000);
    expect(counts.refused).toBeGreaterThan(5_000);
    expect(counts.ignored).toBeGreaterThan(10);
  });
});
