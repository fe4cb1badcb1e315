import { describe, expect, it } from 'vitest';
import {
  ClosedError,
  DownloadError,
  FileSystemError,
  isPermanentFailure,
  MessageError,
  NotFoundError,
  ParseError,
  ValidationError,
  VerifyFailedError,
} from '../../src/index.ts';

const refused = (cause: unknown) => new VerifyFailedError('refused', { bucket: 'b', key: 'k', cause });

describe('isPermanentFailure', () => {
  it.each([
    ['invalid JSON', refused(new ParseError('bad', {})), true],
    ['failed validation', refused(new ValidationError('bad', { issues: [{ message: 'x' }] })), true],
    ["a verify function's own error", refused(new Error('not a registry')), true],
    [
      'EMFILE reading the temp file',
      refused(Object.assign(new Error('EMFILE'), { code: 'EMFILE', syscall: 'open' })),
      false,
    ],
    ['a typed file-system error', refused(new FileSystemError('EIO', { errno: 'EIO' })), false],
    ['a store closed under it', refused(new ClosedError('closed')), false],
    ['NoSuchKey', new NotFoundError('gone', {}), true],
    ['an undecodable message', new MessageError('junk', { reason: 'not JSON' }), true],
    ['a download that outlasted its retries', new DownloadError('503', { attempts: 4 }), false],
    ['an untyped error', new Error('socket hang up'), false],
  ])('%s → %s', (_name, error, expected) => {
    expect(isPermanentFailure(error)).toBe(expected);
  });
});
