import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MessageError, S3UrlError } from '../../src/errors.ts';
import { type AnnouncedObject, decodeSyncMessage } from '../../src/sqs/messages.ts';

/** The message/result pairs of the Examples section of docs/messages.md, in order. */
function docExamples(): { title: string; body: string; expected: unknown }[] {
  const doc = readFileSync(new URL('../../docs/messages.md', import.meta.url), 'utf8');
  const section = doc.split(/^## Examples/m)[1] ?? '';
  return section
    .split(/^### /m)
    .slice(1)
    .map((part) => {
      const blocks = [...part.matchAll(/```json\n([\s\S]*?)\n```/g)].map((m) => m[1] ?? '');
      if (blocks.length !== 2) throw new Error(`example "${part.split('\n')[0]}" needs a message and a result`);
      return { title: part.split('\n')[0] ?? '', body: blocks[0] ?? '', expected: JSON.parse(blocks[1] ?? '') };
    });
}

function record(eventName: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'eu-west-1',
    eventTime: '2026-11-30T08:00:00.000Z',
    eventName,
    s3: { s3SchemaVersion: '1.0', bucket: { name: 'registry-prod', arn: 'arn:aws:s3:::registry-prod' }, object },
    ...extra,
  };
}

const created = (key = 'registry.json', more: Record<string, unknown> = {}) =>
  record('ObjectCreated:Put', { key, size: 10, eTag: 'abc123', sequencer: '0A1B', ...more });

const s3Event = (...records: unknown[]) => JSON.stringify({ Records: records });

function eventBridge(detailType: string, object: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    version: '0',
    id: '3c7e1a9d-5b2f-4e80-b6a4-0d8f2c7e1b95',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '111122223333',
    time: '2026-11-30T08:00:00Z',
    region: 'eu-west-1',
    resources: ['arn:aws:s3:::registry-prod'],
    detail: { version: '0', bucket: { name: 'registry-prod' }, object, reason: 'PutObject' },
    ...extra,
  });
}

const sns = (message: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    Type: 'Notification',
    MessageId: 'c2e9a4f1-7b3d-5e60-8a2c-4f1d9b7e3a58',
    TopicArn: 'arn:aws:sns:eu-west-1:111122223333:registry-updates',
    Message: message,
    Timestamp: '2026-11-30T08:00:00.123Z',
    ...extra,
  });

function refusal(body: unknown, options?: Parameters<typeof decodeSyncMessage>[1]): MessageError {
  try {
    decodeSyncMessage(body as string, options);
  } catch (error) {
    expect(error).toBeInstanceOf(MessageError);
    expect((error as MessageError).code).toBe('ERR_MESSAGE');
    return error as MessageError;
  }
  throw new Error('expected a MessageError');
}

const keys = (list: readonly AnnouncedObject[]) => list.map((o) => `${o.kind} ${o.bucket}/${o.key}`);

describe('decodeSyncMessage', () => {
  describe('docs/messages.md', () => {
    const examples = docExamples();
    it('has an example of every shape', () => {
      expect(examples.length).toBeGreaterThanOrEqual(9);
      const sources = new Set(examples.flatMap((e) => (e.expected as AnnouncedObject[]).map((o) => o.source)));
      expect([...sources].sort()).toEqual(['eventbridge', 's3-event', 'url']);
      expect(examples.some((e) => JSON.parse(e.body).Type === 'Notification')).toBe(true);
      expect(examples.some((e) => JSON.parse(e.body).Event === 's3:TestEvent')).toBe(true);
    });
    it.each(examples.map((e) => [e.title, e] as const))('decodes the example "%s" as shown', (_title, example) => {
      expect(decodeSyncMessage(example.body)).toEqual(example.expected);
    });
  });

  describe('s3_uri and s3_url', () => {
    it.each([
      ['s3_uri', 's3://registry-prod/v0/registry.json', { bucket: 'registry-prod', key: 'v0/registry.json' }],
      ['s3_uri', 'https://registry-prod.s3.eu-west-1.amazonaws.com/a%20b', { key: 'a b', region: 'eu-west-1' }],
      ['s3_url', 'https://s3.amazonaws.com/registry-prod/a+b?versionId=v1', { key: 'a+b', versionId: 'v1' }],
      [
        's3_url',
        's3://arn:aws:s3:us-west-2:123456789012:accesspoint/registry-ap/k',
        { bucket: 'arn:aws:s3:us-west-2:123456789012:accesspoint/registry-ap', region: 'us-west-2' },
      ],
    ])('reads %s %s', (field, url, expected) => {
      const [announced] = decodeSyncMessage(JSON.stringify({ [field]: url, note: 'ignored' }));
      expect(announced).toMatchObject({ kind: 'created', source: 'url', ...expected });
      expect(announced).not.toHaveProperty('eTag');
    });

    it('passes custom endpoints to parseS3Url, and only those', () => {
      const body = JSON.stringify({ s3_url: 'http://127.0.0.1:9000/registry/registry.json' });
      expect(refusal(body).reason).toMatch(/^s3_url: .*not an AWS S3 host/);
      const endpoints = [{ url: 'http://127.0.0.1:9000' }];
      expect(decodeSyncMessage(body, { endpoints })).toEqual([
        { kind: 'created', bucket: 'registry', key: 'registry.json', endpoint: 'http://127.0.0.1:9000', source: 'url' },
      ]);
      expect(() => decodeSyncMessage(body, { endpoints: [{ url: 'ftp://x' }] })).toThrow(RangeError);
      expect(() => decodeSyncMessage('{}', { endpoints: 'x' as never })).toThrow(TypeError);
    });

    it('refuses a URL parseS3Url refuses, keeping its error as the cause', () => {
      const error = refusal(JSON.stringify({ s3_uri: 'https://s3.amazonaws.com.evil.com/b/k' }));
      expect(error.reason).toMatch(/^s3_uri: .*is not an AWS S3 host/);
      expect(error.cause).toBeInstanceOf(S3UrlError);
    });

    it.each([
      [{ s3_uri: 42 }, /s3_uri is a number, not a string/],
      [{ s3_uri: null }, /s3_uri is null/],
      [{ s3_uri: 's3://registry-prod/a', s3_url: 's3://registry-prod/a' }, /mixes the fields of several shapes/],
      [{ s3_uri: '' }, /s3_uri: /],
      [{ s3_uri: 's3://registry-prod/' }, /names no object key/],
    ])('refuses %j', (body, reason) => {
      expect(refusal(JSON.stringify(body)).reason).toMatch(reason);
    });
  });

  describe('S3 event notifications', () => {
    it('announces every record, in order', () => {
      const body = s3Event(
        created('first.json'),
        record('ObjectRemoved:Delete', { key: 'second.json', sequencer: '0A1C' }),
        created('third.json'),
      );
      expect(keys(decodeSyncMessage(body))).toEqual([
        'created registry-prod/first.json',
        'removed registry-prod/second.json',
        'created registry-prod/third.json',
      ]);
    });

    it.each([
      ['a+b.json', 'a b.json'],
      ['a%2Bb.json', 'a+b.json'],
      ['100%25+sure', '100% sure'],
      ['%2525', '%25'],
      ['caf%C3%A9/%E2%9C%93', 'café/✓'],
      ['dir%2Ffile', 'dir/file'],
      ['plain/key.json', 'plain/key.json'],
    ])('form-decodes the key %s', (raw, key) => {
      expect(decodeSyncMessage(s3Event(created(raw)))[0]?.key).toBe(key);
    });

    it.each(['%zz', '%', '%C3', '%ED%A0%80'])('refuses the malformed key encoding %s', (raw) => {
      expect(refusal(s3Event(created(raw))).reason).toMatch(/malformed percent-encoding/);
    });

    it.each([
      ['ObjectCreated:Post', 'created'],
      ['ObjectCreated:Copy', 'created'],
      ['ObjectCreated:CompleteMultipartUpload', 'created'],
      ['ObjectRemoved:Delete', 'removed'],
      ['ObjectRemoved:DeleteMarkerCreated', 'removed'],
      ['LifecycleExpiration:Delete', 'removed'],
      ['LifecycleExpiration:DeleteMarkerCreated', 'removed'],
    ])('announces %s as %s', (eventName, kind) => {
      expect(decodeSyncMessage(s3Event(record(eventName, { key: 'k', sequencer: '01' })))[0]?.kind).toBe(kind);
    });

    it.each([
      'ObjectRestore:Post',
      'ObjectRestore:Completed',
      'ObjectRestore:Delete',
      'ObjectTagging:Put',
      'ObjectAcl:Put',
      'LifecycleTransition',
      'IntelligentTiering',
      'Replication:OperationFailedReplication',
      'ReducedRedundancyLostObject',
      'SomethingNew:Later',
    ])('skips %s', (eventName) => {
      expect(decodeSyncMessage(s3Event(record(eventName, { key: 'k' })))).toEqual([]);
      expect(keys(decodeSyncMessage(s3Event(record(eventName, { key: 'k' }), created('x'))))).toEqual([
        'created registry-prod/x',
      ]);
    });

    it('takes a quoted ETag as the same ETag, unquoted', () => {
      expect(decodeSyncMessage(s3Event(created('k', { eTag: '"abc-2"' })))[0]?.eTag).toBe('abc-2');
    });

    it('treats absent, null and empty optional fields as not said', () => {
      const [announced] = decodeSyncMessage(
        s3Event(
          record(
            'ObjectCreated:Put',
            { key: 'k', eTag: '', versionId: null, sequencer: null, size: null },
            { eventTime: '', awsRegion: '' },
          ),
        ),
      );
      expect(announced).toEqual({
        kind: 'created',
        bucket: 'registry-prod',
        key: 'k',
        source: 's3-event',
        eventName: 'ObjectCreated:Put',
      });
    });

    it.each([
      ['a bucket name with capitals', { s3: { bucket: { name: 'Registry_Prod' }, object: { key: 'k' } } }, /bucket/],
      ['no bucket', { s3: { object: { key: 'k' } } }, /names no valid bucket \(missing\)/],
      [
        'an empty key',
        { s3: { bucket: { name: 'registry-prod' }, object: { key: '' } } },
        /object\.key is the string ""/,
      ],
      ['no key', { s3: { bucket: { name: 'registry-prod' }, object: {} } }, /object\.key is missing/],
      ['a key that is a number', { s3: { bucket: { name: 'registry-prod' }, object: { key: 7 } } }, /a number/],
      ['no s3 field', { s3: undefined }, /Records\[0\]\.s3 is missing, not an object/],
      ['an s3 field that is an array', { s3: [] }, /is an array, not an object/],
      ['no eventName', { eventName: undefined }, /eventName is missing/],
      ['a malformed eventName', { eventName: 'ObjectCreated: Put' }, /not an S3 event name/],
      ['another eventSource', { eventSource: 'aws:sqs' }, /eventSource is the string "aws:sqs", not "aws:s3"/],
      ['a 3.x eventVersion', { eventVersion: '3.0' }, /not a 2\.x version/],
      ['a numeric eventVersion', { eventVersion: 2.1 }, /not a 2\.x version/],
      ['a time that is not ISO 8601', { eventTime: 'yesterday' }, /eventTime is not an ISO 8601/],
      ['a time on a day that does not exist', { eventTime: '2026-02-30T00:00:00Z' }, /not an ISO 8601/],
      ['a time at hour 24', { eventTime: '2026-11-30T24:00:00Z' }, /not an ISO 8601/],
      ['a time without a zone', { eventTime: '2026-11-30T08:00:00' }, /not an ISO 8601/],
      ['a region that is not AWS', { awsRegion: 'mars-north-1' }, /not an AWS region/],
    ])('refuses a record with %s', (_name, override, reason) => {
      const base = record('ObjectCreated:Put', { key: 'k' });
      const changed = { ...base, ...override } as Record<string, unknown>;
      for (const [name, value] of Object.entries(override)) if (value === undefined) delete changed[name];
      expect(refusal(s3Event(changed)).reason).toMatch(reason);
    });

    it.each([
      ['an ETag with a quote inside', { eTag: 'ab"c' }, /eTag is not an ETag/],
      ['an ETag with a space', { eTag: 'ab c' }, /eTag is not an ETag/],
      ['a number as ETag', { eTag: 123 }, /eTag is a number, not a string/],
      ['a sequencer that is not hex', { sequencer: '00XYZ' }, /sequencer is not hexadecimal/],
      ['a sequencer that is a number', { sequencer: 1234 }, /sequencer is a number/],
      ['a negative size', { size: -1 }, /size is a number, not a byte count/],
      ['a fractional size', { size: 1.5 }, /not a byte count/],
      ['a size as a string', { size: '12' }, /size is the string "12", not a byte count/],
      ['a size past 2^53', { size: 2 ** 53 }, /not a byte count/],
      ['a version id with a space', { versionId: 'a b' }, /versionId is not a version id/],
      ['a key over 1,024 bytes', { key: 'é'.repeat(513) }, /longer than 1024 bytes/],
    ])('refuses an object with %s, naming the object', (_name, fields, reason) => {
      const error = refusal(s3Event(created('v0/registry.json', fields)));
      expect(error.reason).toMatch(reason);
      expect(error.bucket).toBe('registry-prod');
      if (!('key' in fields)) expect(error.key).toBe('v0/registry.json');
    });

    it('refuses the whole message when one record is bad', () => {
      const bad = record('ObjectCreated:Put', { key: 'k', sequencer: 'nothex' });
      expect(refusal(s3Event(created('good'), bad)).reason).toMatch(/^Records\[1\]\.s3\.object\.sequencer/);
    });

    it.each([
      [{ Records: [] }, /Records is an array|not a list of records/],
      [{ Records: {} }, /Records is a object|not a list of records/],
      [{ Records: [null] }, /Records\[0\] is null, not an object/],
      [{ Records: ['x'] }, /Records\[0\] is the string "x"/],
    ])('refuses %j', (body, reason) => {
      expect(refusal(JSON.stringify(body)).reason).toMatch(reason);
    });
  });

  describe('s3:TestEvent', () => {
    const testEvent = JSON.stringify({
      Service: 'Amazon S3',
      Event: 's3:TestEvent',
      Time: '2026-11-30T07:58:11.402Z',
      Bucket: 'registry-prod',
      RequestId: '9F1C6B2E8A7D4035',
      HostId: 'x',
    });
    it('is acknowledged and ignored, also inside an SNS envelope', () => {
      expect(decodeSyncMessage(testEvent)).toEqual([]);
      expect(decodeSyncMessage(sns(testEvent))).toEqual([]);
    });
    it('is the only Event read', () => {
      expect(refusal(JSON.stringify({ Event: 's3:ObjectCreated:Put' })).reason).toMatch(/not "s3:TestEvent"/);
    });
  });

  describe('SNS envelopes', () => {
    it('unwraps an S3 event, an s3_uri message and an EventBridge event', () => {
      expect(keys(decodeSyncMessage(sns(s3Event(created('a'), created('b')))))).toEqual([
        'created registry-prod/a',
        'created registry-prod/b',
      ]);
      expect(decodeSyncMessage(sns(JSON.stringify({ s3_uri: 's3://registry-prod/k' })))).toEqual([
        { kind: 'created', bucket: 'registry-prod', key: 'k', source: 'url' },
      ]);
      expect(keys(decodeSyncMessage(sns(eventBridge('Object Created', { key: 'k' }))))).toEqual([
        'created registry-prod/k',
      ]);
    });

    it.each([
      [sns('{}', { Type: 'SubscriptionConfirmation' }), /Type the string "SubscriptionConfirmation".*SubscribeURL/],
      [sns('{}', { Type: 'UnsubscribeConfirmation' }), /announces no object/],
      [sns('{}', { Type: 7 }), /Type a number announces no object/],
      [JSON.stringify({ Type: 'Notification', Message: { Records: [] } }), /Message is a object|not a string/],
      [JSON.stringify({ Type: 'Notification' }), /Message is missing, not a string/],
      [sns('not json'), /the SNS envelope's Message is not JSON/],
      [sns('[1]'), /Message is an array, not a JSON object/],
      [sns(sns(JSON.stringify({ s3_uri: 's3://registry-prod/k' }))), /an SNS envelope inside an SNS envelope/],
      [sns(JSON.stringify({ hello: 1 })), /Message is none of the shapes/],
    ])('refuses %s', (body, reason) => {
      expect(refusal(body).reason).toMatch(reason);
    });
  });

  describe('deleteMarker', () => {
    const withDetail = (deletionType: string | undefined) => {
      const body = JSON.parse(eventBridge('Object Deleted', { key: 'k', 'version-id': 'v2' }));
      if (deletionType !== undefined) body.detail['deletion-type'] = deletionType;
      return JSON.stringify(body);
    };

    it.each([
      ['ObjectRemoved:DeleteMarkerCreated', true],
      ['ObjectRemoved:Delete', false],
      ['LifecycleExpiration:DeleteMarkerCreated', true],
      ['LifecycleExpiration:Delete', false],
    ])('says whether the S3 event %s left a delete marker (%s)', (eventName, deleteMarker) => {
      const [object] = decodeSyncMessage(s3Event(record(eventName, { key: 'k', versionId: 'v2' })));
      expect(object).toMatchObject({ kind: 'removed', versionId: 'v2', deleteMarker });
    });

    it('reads EventBridge deletion-type, and says nothing when it is missing or unknown', () => {
      expect(decodeSyncMessage(withDetail('Delete Marker Created'))[0]?.deleteMarker).toBe(true);
      expect(decodeSyncMessage(withDetail('Permanently Deleted'))[0]?.deleteMarker).toBe(false);
      for (const body of [withDetail(undefined), withDetail('Something New')]) {
        expect(decodeSyncMessage(body)[0]).not.toHaveProperty('deleteMarker');
      }
    });

    it('is never set on a creation', () => {
      expect(decodeSyncMessage(s3Event(created()))[0]).not.toHaveProperty('deleteMarker');
    });
  });

  describe('EventBridge events', () => {
    it('reads Object Created and Object Deleted, with EventBridge field names', () => {
      const body = eventBridge('Object Created', {
        key: 'v0/registry.json',
        size: 5,
        etag: 'b1946ac92492d2347c6235b4d2611184',
        'version-id': 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
        sequencer: '617f08299329d189',
      });
      expect(decodeSyncMessage(body)).toEqual([
        {
          kind: 'created',
          bucket: 'registry-prod',
          key: 'v0/registry.json',
          size: 5,
          eTag: 'b1946ac92492d2347c6235b4d2611184',
          versionId: 'IYV3p45BT0ac8hjHg1houSdS1a.Mro8e',
          sequencer: '617f08299329d189',
          eventTime: '2026-11-30T08:00:00Z',
          region: 'eu-west-1',
          source: 'eventbridge',
          eventName: 'Object Created',
        },
      ]);
      expect(decodeSyncMessage(eventBridge('Object Deleted', { key: 'k' }))[0]?.kind).toBe('removed');
    });

    it('takes the key as it is: EventBridge does not form-encode it', () => {
      expect(decodeSyncMessage(eventBridge('Object Created', { key: 'a+b%20c' }))[0]?.key).toBe('a+b%20c');
    });

    it.each([
      'Object Restore Initiated',
      'Object Restore Completed',
      'Object Tags Added',
      'Object ACL Updated',
      'Object Storage Class Changed',
    ])('skips %s', (detailType) => {
      expect(decodeSyncMessage(eventBridge(detailType, { key: 'k' }))).toEqual([]);
    });

    it.each([
      [eventBridge('Object Created', { key: 'k' }, { source: 'aws.sqs' }), /source is the string "aws\.sqs"/],
      [eventBridge('Object Created', { key: '' }), /detail\.object\.key is the string ""/],
      [eventBridge('Object Created', { key: 'k' }, { detail: null }), /detail is null, not an object/],
      [eventBridge('Object Created', { key: 'k' }, { 'detail-type': 5 }), /detail-type is a number/],
      [eventBridge('Object Created', { key: 'k' }, { time: '30/11/2026' }), /time is not an ISO 8601/],
      [eventBridge('Object Created', { key: 'k', etag: 'a b' }), /detail\.object\.etag is not an ETag/],
      [eventBridge('Object Created', { key: 'k', 'version-id': 'a b' }), /version-id is not a version id/],
    ])('refuses %s', (body, reason) => {
      expect(refusal(body).reason).toMatch(reason);
    });

    it('reads only its own detail-type keys, not inherited ones', () => {
      expect(decodeSyncMessage(eventBridge('constructor', { key: 'k' }))).toEqual([]);
      expect(decodeSyncMessage(eventBridge('__proto__', { key: 'k' }))).toEqual([]);
    });
  });

  describe('bodies', () => {
    it.each([
      [undefined, /the body is missing, not a string/],
      [42, /the body is a number, not a string/],
      ['', /the body is not JSON/],
      ['\uFEFF{"s3_uri":"s3://registry-prod/k"}', /the body is not JSON/],
      ['{"s3_uri":', /the body is not JSON/],
      ['null', /the body is null, not a JSON object/],
      ['[{"s3_uri":"s3://registry-prod/k"}]', /the body is an array/],
      ['"s3://registry-prod/k"', /the body is the string/],
      ['{}', /none of the shapes/],
      ['{"Records":[],"s3_uri":"s3://b/k"}', /mixes the fields of several shapes \(Records, s3_uri\)/],
    ])('refuses %j', (body, reason) => {
      expect(refusal(body).reason).toMatch(reason);
    });

    it('refuses a body over maxBodyBytes before parsing it, counting UTF-8 bytes', () => {
      const body = JSON.stringify({ s3_uri: 's3://registry-prod/k', pad: 'x'.repeat(1_048_576) });
      expect(refusal(body).reason).toMatch(/longer than maxBodyBytes \(1048576\)/);
      const small = JSON.stringify({ s3_uri: 's3://registry-prod/k', pad: 'é'.repeat(30) });
      const bytes = Buffer.byteLength(small);
      expect(small.length).toBeLessThan(bytes - 1);
      expect(decodeSyncMessage(small, { maxBodyBytes: bytes })).toHaveLength(1);
      expect(refusal(small, { maxBodyBytes: bytes - 1 }).reason).toMatch(/longer than maxBodyBytes/);
    });

    it.each([
      [0, RangeError],
      [1.5, RangeError],
      [Number.NaN, RangeError],
      ['1000', TypeError],
    ])('throws for maxBodyBytes %j, naming the option', (maxBodyBytes, type) => {
      expect(() => decodeSyncMessage('{}', { maxBodyBytes: maxBodyBytes as number })).toThrow(type);
      expect(() => decodeSyncMessage('{}', { maxBodyBytes: maxBodyBytes as number })).toThrow(/options\.maxBodyBytes/);
    });

    it('survives deep nesting', () => {
      const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
      expect(refusal(deep).reason).toMatch(/the body/);
    });
  });

  describe('prototype-polluting keys', () => {
    it('never reads a shape from __proto__', () => {
      const body = `{"__proto__":{"Records":[${JSON.stringify(created())}]}}`;
      expect(refusal(body).reason).toMatch(/none of the shapes/);
    });

    it('never reads a record field from __proto__ or leaves Object.prototype changed', () => {
      const inner = JSON.stringify(created()).replace(
        '"eventName":"ObjectCreated:Put"',
        '"__proto__":{"eventName":"ObjectCreated:Put"}',
      );
      expect(refusal(`{"Records":[${inner}]}`).reason).toMatch(/eventName is missing/);
      const url =
        '{"s3_uri":"s3://registry-prod/k","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
      expect(decodeSyncMessage(url)).toHaveLength(1);
      expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    });

    it('does not take a bucket from an inherited property', () => {
      const body = s3Event({ ...created(), s3: { bucket: { toString: 'registry-prod' }, object: { key: 'k' } } });
      expect(refusal(body).reason).toMatch(/names no valid bucket \(missing\)/);
    });
  });
});
