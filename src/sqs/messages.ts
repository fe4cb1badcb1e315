import { MessageError, S3UrlError } from '../errors.ts';
import { keyTooLong, MAX_KEY_BYTES, regionPartition } from '../url/aws-names.ts';
import { type ParseS3UrlOptions, resolveParseOptions } from '../url/endpoints.ts';
import { formDecode } from '../url/percent-decode.ts';
import { isValidBucketName, parseS3Url } from '../url/s3-url.ts';

/**
 * What an SQS message body announces: the S3 objects that changed. Every message shape the
 * pipeline can be told by is read here; see `docs/messages.md`.
 */

/** What happened to an announced object. */
export type AnnouncedObjectKind = 'created' | 'removed';

/** The message shape an object was announced in (after unwrapping an SNS envelope). */
export type AnnouncementSource = 'url' | 's3-event' | 'eventbridge';

/** One object a message announces. Optional fields are present only when the message says them. */
export interface AnnouncedObject {
  /**
   * `created`: the object was written (created or overwritten); fetch it. `removed`: it was
   * deleted, a delete marker now hides it, or a lifecycle rule expired it.
   */
  readonly kind: AnnouncedObjectKind;
  /** Bucket name (or, from a URL, an access point ARN or alias, as `parseS3Url` returns). */
  readonly bucket: string;
  /** Object key, fully decoded. */
  readonly key: string;
  /** The version the event is about (of the object, or of the delete marker). */
  readonly versionId?: string;
  /**
   * The object's ETag without quotes, as S3 events carry it (`d41d8cd98f00b204e9800998ecf8427e`,
   * `…-12` after a multipart upload). Add the quotes for an `If-Match` header.
   */
  readonly eTag?: string;
  /** S3's event sequencer, hex as sent. Compare two of one key after left-padding with zeros. */
  readonly sequencer?: string;
  /** When S3 processed the request, ISO 8601 as sent. */
  readonly eventTime?: string;
  /** Object size in bytes. */
  readonly size?: number;
  /** The bucket's region, when the message names it. */
  readonly region?: string;
  /** The custom endpoint's origin, for a URL on a listed endpoint (see `parseS3Url`). */
  readonly endpoint?: string;
  /** The shape of the message. */
  readonly source: AnnouncementSource;
  /** S3's `eventName` (`ObjectCreated:Put`) or EventBridge's `detail-type` (`Object Created`). */
  readonly eventName?: string;
  /**
   * For a removal whose message says which kind it was: `true` when a delete marker now hides
   * the object (S3's `…:DeleteMarkerCreated`, EventBridge's `deletion-type` "Delete Marker
   * Created"), `false` when the object, or in a versioned bucket the version `versionId` names,
   * was deleted for good (`…:Delete`, "Permanently Deleted").
   */
  readonly deleteMarker?: boolean;
}

/** Options for {@link decodeSyncMessage}. */
export interface DecodeSyncMessageOptions extends ParseS3UrlOptions {
  /**
   * Longest body accepted, in bytes of UTF-8. Longer bodies are refused before they are parsed.
   * @defaultValue `1_048_576` (1 MiB, SQS's own limit)
   */
  readonly maxBodyBytes?: number | undefined;
}

const DEFAULT_MAX_BODY_BYTES = 1_048_576;

// Printable ASCII without '"': what can stand inside the quotes of an If-Match header.
const ETAG = /^[\x21\x23-\x7e]{1,256}$/;
// Version ids are URL-safe base64-like strings ("null" for the null version); bounded generously.
const VERSION_ID = /^[\x21-\x7e]{1,1024}$/;
const SEQUENCER = /^[0-9A-Fa-f]{1,64}$/;
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-](\d{2}):(\d{2}))$/;
// eventName families: `<Family>:<Detail>` as S3 writes them, or a bare family name.
const EVENT_NAME = /^[A-Za-z0-9]+(?::[A-Za-z0-9]+)?$/;

/** The object a refusal is about, once the message has named it. */
interface Context {
  readonly bucket?: string;
  readonly key?: string;
}

function fail(reason: string, context?: Context, cause?: unknown): never {
  throw new MessageError(`Invalid sync message: ${reason}`, {
    reason,
    ...(context?.bucket === undefined ? {} : { bucket: context.bucket }),
    ...(context?.key === undefined ? {} : { key: context.key }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** An own field only: a body's `__proto__` or `constructor` never reaches an inherited value. */
function field(value: object, name: string): unknown {
  return Object.hasOwn(value, name) ? (value as Record<string, unknown>)[name] : undefined;
}

function objectAt(value: object, name: string, path: string): object {
  const found = field(value, name);
  if (!isObject(found)) fail(`${path}.${name} is ${describe(found)}, not an object`);
  return found;
}

function describe(value: unknown): string {
  if (value === undefined) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)}`;
  return `a ${typeof value}`;
}

/** An optional string field: absent, `null` and `''` are all "not said". */
function optionalString(value: object, name: string, path: string, at?: Context): string | undefined {
  const found = field(value, name);
  if (found === undefined || found === null || found === '') return undefined;
  if (typeof found !== 'string') fail(`${path}.${name} is ${describe(found)}, not a string`, at);
  return found;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail(`${what} is not JSON`, undefined, error);
  }
}

/** True when the fields of an ISO_TIME match name a real calendar day and clock time. */
function isRealTime(m: RegExpExecArray): boolean {
  const n = (i: number): number => Number(m[i] ?? 0);
  const [month, day] = [n(2), n(3)];
  const date = new Date(Date.UTC(n(1), month - 1, day));
  return (
    month >= 1 &&
    month <= 12 &&
    date.getUTCDate() === day &&
    n(4) <= 23 &&
    n(5) <= 59 &&
    n(6) <= 59 &&
    n(7) <= 23 &&
    n(8) <= 59
  );
}

function checkedTime(value: string, path: string): string {
  const m = ISO_TIME.exec(value);
  if (m === null || !isRealTime(m))
    fail(`${path} is not an ISO 8601 date and time: ${JSON.stringify(value.slice(0, 80))}`);
  return value;
}

/** The fields every event shape shares, read from the object and checked. */
interface ObjectFields {
  readonly kind: AnnouncedObjectKind;
  readonly source: AnnouncementSource;
  readonly eventName: string;
  readonly bucket: unknown;
  readonly rawKey: unknown;
  readonly formEncoded: boolean;
  readonly object: object;
  readonly names: { readonly eTag: string; readonly versionId: string };
  readonly eventTime: string | undefined;
  readonly region: string | undefined;
  readonly path: string;
  readonly deleteMarker?: boolean | undefined;
}

function announce(f: ObjectFields): AnnouncedObject {
  const { path, object } = f;
  if (typeof f.bucket !== 'string' || !isValidBucketName(f.bucket)) {
    fail(`${path} names no valid bucket (${describe(f.bucket)})`);
  }
  const bucket = f.bucket;
  if (typeof f.rawKey !== 'string' || f.rawKey === '') fail(`${path}.object.key is ${describe(f.rawKey)}`, { bucket });
  let key = f.rawKey;
  if (f.formEncoded) {
    try {
      key = formDecode(f.rawKey);
    } catch (error) {
      fail(`${path}.object.key has malformed percent-encoding`, { bucket }, error);
    }
  }
  const at = { bucket, key };
  if (keyTooLong(key)) fail(`${path}.object.key is longer than ${MAX_KEY_BYTES} bytes`, at);
  const out: { -readonly [K in keyof AnnouncedObject]: AnnouncedObject[K] } = {
    kind: f.kind,
    bucket,
    key,
    source: f.source,
  };
  const versionId = optionalString(object, f.names.versionId, `${path}.object`, at);
  if (versionId !== undefined) {
    if (!VERSION_ID.test(versionId)) fail(`${path}.object.${f.names.versionId} is not a version id`, at);
    out.versionId = versionId;
  }
  let eTag = optionalString(object, f.names.eTag, `${path}.object`, at);
  if (eTag !== undefined) {
    // Unquoted is what S3 sends; a quoted value (from a relay that copied a header) means the same.
    if (eTag.length >= 2 && eTag.startsWith('"') && eTag.endsWith('"')) eTag = eTag.slice(1, -1);
    if (!ETAG.test(eTag)) fail(`${path}.object.${f.names.eTag} is not an ETag`, at);
    out.eTag = eTag;
  }
  const sequencer = optionalString(object, 'sequencer', `${path}.object`, at);
  if (sequencer !== undefined) {
    if (!SEQUENCER.test(sequencer)) fail(`${path}.object.sequencer is not hexadecimal`, at);
    out.sequencer = sequencer;
  }
  if (f.eventTime !== undefined) out.eventTime = f.eventTime;
  const size = field(object, 'size');
  if (size !== undefined && size !== null) {
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      fail(`${path}.object.size is ${describe(size)}, not a byte count`, at);
    }
    out.size = size;
  }
  if (f.region !== undefined) {
    if (regionPartition(f.region) === undefined)
      fail(`${path} names "${f.region.slice(0, 40)}", not an AWS region`, at);
    out.region = f.region;
  }
  out.eventName = f.eventName;
  if (f.kind === 'removed' && f.deleteMarker !== undefined) out.deleteMarker = f.deleteMarker;
  return out;
}

function s3EventKind(eventName: string): AnnouncedObjectKind | undefined {
  if (eventName.startsWith('ObjectCreated:')) return 'created';
  // A lifecycle expiration deletes the object or hides it behind a delete marker, as a DELETE does.
  if (eventName.startsWith('ObjectRemoved:') || eventName.startsWith('LifecycleExpiration:')) return 'removed';
  return undefined;
}

function decodeS3Event(body: object): AnnouncedObject[] {
  const records = field(body, 'Records');
  if (!Array.isArray(records) || records.length === 0) fail(`Records is ${describe(records)}, not a list of records`);
  const out: AnnouncedObject[] = [];
  records.forEach((record: unknown, i) => {
    const path = `Records[${i}]`;
    if (!isObject(record)) fail(`${path} is ${describe(record)}, not an object`);
    const source = field(record, 'eventSource');
    if (source !== undefined && source !== 'aws:s3') fail(`${path}.eventSource is ${describe(source)}, not "aws:s3"`);
    const version = field(record, 'eventVersion');
    // AWS raises the major version for changes that are not backward compatible.
    if (version !== undefined && (typeof version !== 'string' || !/^2\.\d{1,4}$/.test(version))) {
      fail(`${path}.eventVersion is ${describe(version)}, not a 2.x version`);
    }
    const eventName = field(record, 'eventName');
    if (typeof eventName !== 'string' || !EVENT_NAME.test(eventName)) {
      fail(`${path}.eventName is ${describe(eventName)}, not an S3 event name`);
    }
    const kind = s3EventKind(eventName);
    if (kind === undefined) return; // restores, tagging, ACLs, transitions, replication: content unchanged
    const s3 = objectAt(record, 's3', path);
    const object = objectAt(s3, 'object', `${path}.s3`);
    const bucketField = field(s3, 'bucket');
    const time = optionalString(record, 'eventTime', path);
    out.push(
      announce({
        kind,
        source: 's3-event',
        eventName,
        bucket: isObject(bucketField) ? field(bucketField, 'name') : undefined,
        rawKey: field(object, 'key'),
        formEncoded: true,
        object,
        names: { eTag: 'eTag', versionId: 'versionId' },
        eventTime: time === undefined ? undefined : checkedTime(time, `${path}.eventTime`),
        region: optionalString(record, 'awsRegion', path),
        path: `${path}.s3`,
        deleteMarker: eventName.endsWith(':DeleteMarkerCreated'),
      }),
    );
  });
  return out;
}

/** EventBridge's `deletion-type`, as `AnnouncedObject#deleteMarker`. */
function isDeleteMarker(deletionType: unknown): boolean | undefined {
  if (deletionType === 'Delete Marker Created') return true;
  return deletionType === 'Permanently Deleted' ? false : undefined;
}

const EVENTBRIDGE_KINDS: Readonly<Record<string, AnnouncedObjectKind>> = {
  'Object Created': 'created',
  'Object Deleted': 'removed',
};

function decodeEventBridge(body: object): AnnouncedObject[] {
  const source = field(body, 'source');
  if (source !== 'aws.s3') fail(`the EventBridge event's source is ${describe(source)}, not "aws.s3"`);
  const detailType = field(body, 'detail-type');
  if (typeof detailType !== 'string') fail(`detail-type is ${describe(detailType)}, not a string`);
  const kind = Object.hasOwn(EVENTBRIDGE_KINDS, detailType) ? EVENTBRIDGE_KINDS[detailType] : undefined;
  if (kind === undefined) return []; // restores, tags, ACLs, storage class and tier changes
  const detail = objectAt(body, 'detail', 'the event');
  const object = objectAt(detail, 'object', 'detail');
  const bucketField = field(detail, 'bucket');
  const time = optionalString(body, 'time', 'the event');
  return [
    announce({
      kind,
      source: 'eventbridge',
      eventName: detailType,
      bucket: isObject(bucketField) ? field(bucketField, 'name') : undefined,
      rawKey: field(object, 'key'),
      formEncoded: false, // EventBridge sends the key as it is
      object,
      names: { eTag: 'etag', versionId: 'version-id' },
      eventTime: time === undefined ? undefined : checkedTime(time, 'time'),
      region: optionalString(body, 'region', 'the event'),
      path: 'detail',
      deleteMarker: isDeleteMarker(field(detail, 'deletion-type')),
    }),
  ];
}

function decodeUrl(body: object, name: 's3_uri' | 's3_url', options: ParseS3UrlOptions): AnnouncedObject[] {
  const url = field(body, name);
  if (typeof url !== 'string') fail(`${name} is ${describe(url)}, not a string`);
  let parsed: ReturnType<typeof parseS3Url>;
  try {
    parsed = parseS3Url(url, options);
  } catch (error) {
    if (!(error instanceof S3UrlError)) throw error;
    return fail(`${name}: ${error.reason}`, undefined, error);
  }
  const out: { -readonly [K in keyof AnnouncedObject]: AnnouncedObject[K] } = {
    kind: 'created',
    bucket: parsed.bucket,
    key: parsed.key,
    source: 'url',
  };
  if (parsed.versionId !== undefined) out.versionId = parsed.versionId;
  if (parsed.region !== undefined) out.region = parsed.region;
  if (parsed.endpoint !== undefined) out.endpoint = parsed.endpoint;
  return [out];
}

/** The fields that tell the shapes apart; a body has exactly one of them. */
const MARKERS = ['Type', 'Records', 'Event', 'detail-type', 's3_uri', 's3_url'] as const;

function decodeValue(body: unknown, options: ParseS3UrlOptions, insideSns: boolean): AnnouncedObject[] {
  const where = insideSns ? "the SNS envelope's Message" : 'the body';
  if (!isObject(body)) fail(`${where} is ${describe(body)}, not a JSON object`);
  const present = MARKERS.filter((name) => Object.hasOwn(body, name));
  if (present.length === 0) {
    fail(`${where} is none of the shapes read here (s3_uri, s3_url, S3 event, SNS envelope, EventBridge event)`);
  }
  if (present.length > 1) fail(`${where} mixes the fields of several shapes (${present.join(', ')})`);
  switch (present[0]) {
    case 'Records':
      return decodeS3Event(body);
    case 'detail-type':
      return decodeEventBridge(body);
    case 's3_uri':
      return decodeUrl(body, 's3_uri', options);
    case 's3_url':
      return decodeUrl(body, 's3_url', options);
    case 'Event': {
      // S3 sends s3:TestEvent once, when a notification configuration is saved: nothing changed.
      const event = field(body, 'Event');
      if (event === 's3:TestEvent') return [];
      return fail(`Event is ${describe(event)}, not "s3:TestEvent"`);
    }
    default:
      if (insideSns) fail('an SNS envelope inside an SNS envelope');
      return decodeSns(body, options);
  }
}

function decodeSns(body: object, options: ParseS3UrlOptions): AnnouncedObject[] {
  const type = field(body, 'Type');
  if (type !== 'Notification') {
    const hint = type === 'SubscriptionConfirmation' ? ': confirm the subscription (its SubscribeURL)' : '';
    fail(`an SNS message of Type ${describe(type)} announces no object${hint}`);
  }
  const message = field(body, 'Message');
  if (typeof message !== 'string') fail(`the SNS envelope's Message is ${describe(message)}, not a string`);
  return decodeValue(parseJson(message, "the SNS envelope's Message"), options, true);
}

function bodyLimit(options: DecodeSyncMessageOptions): number {
  const max = options.maxBodyBytes;
  if (max === undefined) return DEFAULT_MAX_BODY_BYTES;
  if (typeof max !== 'number') throw new TypeError(`options.maxBodyBytes must be a number, received ${typeof max}`);
  if (!Number.isSafeInteger(max) || max < 1) {
    throw new RangeError(`options.maxBodyBytes must be a positive integer, received ${max}`);
  }
  return max;
}

/**
 * Reads an SQS message body and returns the S3 objects it announces, in message order:
 *
 * - `{"s3_uri": "s3://…"}` or `{"s3_url": "https://…"}`: any URL `parseS3Url` accepts (custom
 *   endpoints as listed in `options.endpoints`);
 * - an S3 event notification: every record; `ObjectCreated:*` is `created`; `ObjectRemoved:*` and
 *   `LifecycleExpiration:*` are `removed`; other event names are skipped; keys are form-decoded;
 * - an EventBridge `Object Created` / `Object Deleted` event from `aws.s3` (other detail types
 *   are skipped; keys are taken as they are);
 * - any of these in an SNS envelope (`Type: 'Notification'`, raw message delivery off).
 *
 * An empty list means "acknowledge and ignore": `s3:TestEvent`, or only skipped event types.
 *
 * @throws {MessageError} (`code: 'ERR_MESSAGE'`) with a `reason` naming the field at fault, for
 * any body that is not one of these shapes or announces an invalid object. A message with one
 * bad record is refused whole.
 * @throws {TypeError | RangeError} naming the option, when `options` is invalid.
 */
export function decodeSyncMessage(body: string, options: DecodeSyncMessageOptions = {}): AnnouncedObject[] {
  // Resolving here (it is cached) makes a bad `endpoints` a TypeError even for a body without a URL.
  resolveParseOptions(options);
  const max = bodyLimit(options);
  if (typeof body !== 'string') fail(`the body is ${describe(body)}, not a string`);
  // A UTF-16 unit is one to three bytes of UTF-8: count only when the length leaves it open.
  if (body.length > max || (body.length * 3 > max && Buffer.byteLength(body, 'utf8') > max)) {
    fail(`the body is longer than maxBodyBytes (${max})`);
  }
  return decodeValue(parseJson(body, 'the body'), options, false);
}
