import { readFileSync } from 'node:fs';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Meter } from '@opentelemetry/api';
import { describe, expect, it, vi } from 'vitest';
import { createS3Sync, MessageError, SqsListener } from '../../src/index.ts';
import { errorType, queueName } from '../../src/metrics/attributes.ts';
import { type InstrumentOptions, instrument } from '../../src/metrics/index.ts';
import { createTestMeter } from './meter.ts';

// Never contacted: these tests only construct.
const clientConfig = {
  endpoint: 'http://127.0.0.1:9',
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
};
const queueUrl = 'http://127.0.0.1:9/000000000000/replica-1';

function makeSync() {
  return createS3Sync({
    sqs: { client: new SQSClient(clientConfig), queueUrl },
    s3: { client: new S3Client({ ...clientConfig, forcePathStyle: true }) },
    target: '/tmp/s3-sync-metrics-never-written.json',
    source: 's3://registry/v0/registry.json',
  });
}

const KINDS = {
  createCounter: 'counter',
  createHistogram: 'histogram',
  createUpDownCounter: 'up-down counter',
  createGauge: 'gauge',
  createObservableCounter: 'counter (observed)',
  createObservableGauge: 'gauge (observed)',
  createObservableUpDownCounter: 'up-down counter (observed)',
} as const;

/** The instruments `instrument()` creates on a meter: name → kind and unit. */
function createdInstruments(meter: Meter, target: Parameters<typeof instrument>[0]): Map<string, string[]> {
  const created = new Map<string, string[]>();
  for (const [method, kind] of Object.entries(KINDS) as [keyof typeof KINDS, string][]) {
    const original = meter[method].bind(meter) as (name: string, options?: { unit?: string }) => never;
    vi.spyOn(meter, method).mockImplementation(((name: string, options?: { unit?: string }) => {
      created.set(name, [kind, options?.unit ?? '']);
      return original(name, options);
    }) as never);
  }
  instrument(target, { meter }).stop();
  return created;
}

describe('instrument', () => {
  describe('options', () => {
    const sync = makeSync();
    const { meter } = createTestMeter();
    it.each([
      [undefined, /options object/],
      [{}, /`meter`/],
      [{ meter: {} }, /`meter`/],
      [{ meter, attributes: 'replica-1' }, /`attributes`/],
      [{ meter, attributes: null }, /`attributes`/],
      [{ meter, queueUrl: '' }, /`queueUrl`/],
      [{ meter, queueUrl: 42 }, /`queueUrl`/],
    ])('refuses %j', (options, message) => {
      expect(() => instrument(sync, options as unknown as InstrumentOptions)).toThrow(TypeError);
      expect(() => instrument(sync, options as unknown as InstrumentOptions)).toThrow(message);
    });

    it.each([[undefined], [{}], [{ on: () => {} }], [sync.store]])('refuses a target that is %s', (target) => {
      expect(() => instrument(target as never, { meter })).toThrow(/`target`/);
    });

    it('adds nothing when it throws half-way', () => {
      const broken = createTestMeter().meter;
      vi.spyOn(broken, 'createObservableUpDownCounter').mockImplementation(() => {
        throw new Error('broken meter');
      });
      expect(() => instrument(sync, { meter: broken })).toThrow('broken meter');
      expect(sync.listenerCount('update_applied')).toBe(0);
      expect(sync.listener.listenerCount('message_received')).toBe(0);
    });
  });

  describe('.stop', () => {
    it('removes the observable callbacks it added, once', () => {
      const { meter } = createTestMeter();
      const remove = vi.spyOn(meter, 'removeBatchObservableCallback');
      const add = vi.spyOn(meter, 'addBatchObservableCallback');
      const instrumentation = instrument(makeSync(), { meter });
      expect(add).toHaveBeenCalledTimes(2);
      instrumentation.stop();
      instrumentation.stop();
      expect(remove).toHaveBeenCalledTimes(2);
      expect(remove.mock.calls.map((call) => call[0])).toEqual(add.mock.calls.map((call) => call[0]));
    });

    it('leaves listeners it did not add', () => {
      const listener = new SqsListener({
        client: new SQSClient(clientConfig),
        queueUrl,
        handleMessage: async () => {},
      });
      const own = () => {};
      listener.on('message_received', own);
      const instrumentation = instrument(listener, { meter: createTestMeter().meter });
      expect(listener.listenerCount('message_received')).toBe(2);
      instrumentation.stop();
      expect(listener.listenerCount('message_received')).toBe(1);
    });
  });

  it('refuses to instrument a pipeline (or its listener) twice at once, and allows it again after stop()', () => {
    const sync = makeSync();
    const { meter } = createTestMeter();
    const first = instrument(sync, { meter });
    expect(() => instrument(sync, { meter })).toThrow(/instrumented already/);
    expect(() => instrument(sync.listener, { meter })).toThrow(/instrumented already/);
    first.stop();
    instrument(sync.listener, { meter }).stop();
  });

  it('records no lag for an event time after now (clock skew), and the lag for one before', async () => {
    const sync = makeSync();
    const { meter, collect } = createTestMeter();
    instrument(sync, { meter });
    const emit = (sync as unknown as { emit(event: string, ...args: unknown[]): void }).emit.bind(sync);
    const applied = (eventTime: Date) => ({
      update: { bucket: 'registry', key: 'v0/registry.json', origin: 'message', eventTime },
      snapshot: {},
      version: 1,
      etag: '"e"',
      bytes: 10,
      durationMs: 5,
      lagMs: 0,
    });
    emit('update_applied', applied(new Date(Date.now() + 30_000)));
    expect((await collect()).points('s3_sync.propagation.lag')).toEqual([]);
    emit('update_applied', applied(new Date(Date.now() - 2_000)));
    const [point] = (await collect()).points('s3_sync.propagation.lag');
    expect(point?.count).toBe(1);
    expect(point?.sum).toBeGreaterThanOrEqual(2);
  });

  it('counts a failed batch delete once, however many messages it carried', async () => {
    const listener = new SqsListener({ client: new SQSClient(clientConfig), queueUrl, handleMessage: async () => {} });
    const { meter, collect } = createTestMeter();
    instrument(listener, { meter });
    const emit = (listener as unknown as { emit(event: string, ...args: unknown[]): void }).emit.bind(listener);
    const failure = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    for (const id of ['a', 'b', 'c'])
      emit('delete_error', failure, { MessageId: id }, { messageId: id, receiveCount: 1 });
    expect((await collect()).points('s3_sync.sqs.errors')).toEqual([
      {
        attributes: { 'messaging.system': 'aws_sqs', 's3_sync.operation': 'delete', 'error.type': 'ECONNRESET' },
        value: 1,
      },
    ]);
  });

  it('keeps the attributes it was given at the time', async () => {
    const { meter, collect } = createTestMeter();
    const attributes: Record<string, string> = { 'service.instance.id': 'replica-1' };
    instrument(makeSync(), { meter, attributes });
    attributes['service.instance.id'] = 'changed';
    const seen = await collect();
    expect(seen.points('s3_sync.store.version')).toEqual([
      { attributes: { 'service.instance.id': 'replica-1' }, value: 0 },
    ]);
  });
});

describe('errorType', () => {
  it.each([
    ['our code', new MessageError('bad body', { reason: 'json' }), 'ERR_MESSAGE'],
    ['a system code', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED'],
    ['a class name', Object.assign(new Error('no queue'), { name: 'QueueDoesNotExist' }), 'QueueDoesNotExist'],
    ['a built-in class', new TypeError('x'), 'TypeError'],
    ['a plain Error', new Error('x'), '_OTHER'],
    ['a string', 'boom', '_OTHER'],
    ['null', null, '_OTHER'],
    ['a very long code', { code: 'X'.repeat(500) }, '_OTHER'],
    ['a code carrying an id', { code: 'HTTP_404 /v0/objects/52c4' }, '_OTHER'],
    [
      'a name carrying a URL',
      Object.assign(new Error('x'), { name: 'RequestError: GET https://api/items/0' }),
      '_OTHER',
    ],
  ])('classifies %s', (_what, error, expected) => {
    expect(errorType(error)).toBe(expected);
  });
});

describe('queueName', () => {
  it.each([
    ['https://sqs.eu-west-1.amazonaws.com/123456789012/registry-replica-a', 'registry-replica-a'],
    ['https://sqs.eu-west-1.amazonaws.com/123456789012/orders.fifo', 'orders.fifo'],
    ['http://127.0.0.1:4566/000000000000/local/', 'local'],
    ['registry-replica-a', 'registry-replica-a'],
  ])('%s is %s', (url, name) => {
    expect(queueName(url)).toBe(name);
  });
});

describe('docs/metrics.md', () => {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const section = doc.split(/^## /m).find((part) => part.startsWith('Instruments')) ?? '';
  const table = section.split(/^### /m)[0] ?? '';
  const documented = new Map(
    table
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .map((line) => line.slice(2, -2).split(' | '))
      .map(([name = '', kind = '', unit = '']) => [name.replaceAll('`', ''), [kind, unit.replaceAll('`', '')]]),
  );

  it('lists every instrument, with its kind and unit, and no other', () => {
    const created = createdInstruments(createTestMeter().meter, makeSync());
    expect(created.size).toBeGreaterThanOrEqual(12);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(created));
  });

  it('gives the Prometheus name the exporter serves', () => {
    for (const line of table.split('\n').filter((l) => l.startsWith('| `'))) {
      const cells = line.slice(2, -2).split(' | ');
      const name = (cells[0] ?? '').replaceAll('`', '').replaceAll('.', '_');
      const suffix = cells[1] === 'counter' ? '_total' : '';
      expect(cells.at(-1)).toBe(`\`${name}${suffix}\``);
    }
  });
});
