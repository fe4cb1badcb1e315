import { NotFoundError } from 's3-sqs-sync';
import { describe, expect, it } from 'vitest';
import { parseDuration, parseSignal, parseSize, UsageError } from '../../src/cli/args.ts';
import { createLogger, errorField, listenerLogger } from '../../src/cli/logger.ts';

const NOW = Date.UTC(2026, 10, 30, 8, 12, 3, 511);

describe('createLogger', () => {
  it('writes one pino-compatible JSON object per line', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'json', level: 'info', write: (line) => lines.push(line), now: () => NOW });
    logger.debug('hidden');
    logger.warn('update failed', { version: 2 });
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 40,
      time: NOW,
      pid: process.pid,
      msg: 'update failed',
      version: 2,
    });
  });

  it('writes a readable line with the time for a terminal', () => {
    const lines: string[] = [];
    const logger = createLogger({ format: 'pretty', level: 'info', write: (line) => lines.push(line), now: () => NOW });
    logger.info('update applied', { version: 2, key: 'v0/registry.json', note: 'two words' });
    expect(lines).toEqual(['08:12:03.511 INFO  update applied version=2 key=v0/registry.json note="two words"\n']);
  });

  it("turns the listener's raw errors into fields that survive JSON", () => {
    const lines: string[] = [];
    const logger = listenerLogger(createLogger({ format: 'json', level: 'info', write: (line) => lines.push(line) }));
    logger.warn(
      { err: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }), backoffMs: 500 },
      'receive failed',
    );
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({
      level: 40,
      msg: 'receive failed',
      component: 'listener',
      backoffMs: 500,
      err: { name: 'Error', message: 'getaddrinfo ENOTFOUND', code: 'ENOTFOUND' },
    });
  });

  it('logs a package error through its toJSON()', () => {
    expect(errorField(new NotFoundError('gone', { bucket: 'b', key: 'k' }))).toMatchObject({
      name: 'NotFoundError',
      code: 'ERR_NOT_FOUND',
      bucket: 'b',
      key: 'k',
    });
  });
});

describe('flag values', () => {
  it('reads durations with a unit, or bare milliseconds', () => {
    expect([
      parseDuration('x', '250ms'),
      parseDuration('x', '30s'),
      parseDuration('x', '5m'),
      parseDuration('x', '1500'),
    ]).toEqual([250, 30_000, 300_000, 1500]);
    expect(() => parseDuration('reconcile-interval', '5 minutes')).toThrow(UsageError);
  });

  it('reads sizes and signal names', () => {
    expect(parseSize('max-bytes', '64MiB')).toBe(64 * 1024 * 1024);
    expect(parseSignal('signal', 'hup')).toBe('SIGHUP');
    expect(parseSignal('signal', 'SIGUSR1')).toBe('SIGUSR1');
    expect(() => parseSignal('signal', 'SIGNOPE')).toThrow(/--signal must be a signal name/);
  });
});
