import { describe, expect, it } from 'vitest';
import { fileSystemError } from '../src/errors.ts';
import {
  FileSystemError,
  isS3SyncError,
  NotFoundError,
  S3UrlError,
  TooLargeError,
  ValidationError,
  VerifyFailedError,
} from '../src/index.ts';

describe('S3SyncError', () => {
  describe('.toJSON', () => {
    it('keeps the name, code, message and every context field through JSON.stringify', () => {
      const error = new VerifyFailedError('s3://registry/v0/registry.json refused for /srv/registry.json', {
        bucket: 'registry',
        key: 'v0/registry.json',
        etag: '"abc"',
        versionId: 'v1',
        path: '/srv/registry.json',
        cause: new SyntaxError('Unexpected end of JSON input'),
      });
      expect(JSON.parse(JSON.stringify(error))).toEqual({
        name: 'VerifyFailedError',
        code: 'ERR_VERIFY_FAILED',
        message: 's3://registry/v0/registry.json refused for /srv/registry.json',
        bucket: 'registry',
        key: 'v0/registry.json',
        etag: '"abc"',
        versionId: 'v1',
        path: '/srv/registry.json',
        cause: { name: 'SyntaxError', message: 'Unexpected end of JSON input' },
      });
    });

    it("carries a subclass's own fields and the cause's code, never a stack", () => {
      const cause = Object.assign(new Error('EFBIG'), { code: 'EFBIG' });
      const json = new TooLargeError('too large', { maxBytes: 10, bytes: 11, path: '/x', cause }).toJSON();
      expect(json).toMatchObject({ code: 'ERR_TOO_LARGE', maxBytes: 10, bytes: 11, path: '/x' });
      expect(json.cause).toEqual({ name: 'Error', code: 'EFBIG', message: 'EFBIG' });
      expect(JSON.stringify(json)).not.toContain('stack');
    });

    it('writes validation issues and a URL error reason', () => {
      const validation = new ValidationError('invalid', { issues: [{ message: 'required', path: ['servers'] }] });
      expect(validation.toJSON().issues).toEqual([{ message: 'required', path: ['servers'] }]);
      const url = new S3UrlError({ input: 'https://example.com/x', reason: 'not an S3 host' });
      expect(url.toJSON()).toMatchObject({
        code: 'ERR_S3_URL',
        input: 'https://example.com/x',
        reason: 'not an S3 host',
      });
    });

    it('writes a non-Error cause as its message', () => {
      expect(new NotFoundError('gone', { cause: 'missing' }).toJSON().cause).toEqual({ message: 'missing' });
    });
  });
});

describe('fileSystemError', () => {
  const errno = (code: string, syscall = 'open') => Object.assign(new Error(`${code}: failed`), { code, syscall });

  it.each([
    ['ENOENT', 'ERR_NOT_FOUND'],
    ['ENOTDIR', 'ERR_NOT_FOUND'],
    ['EACCES', 'ERR_ACCESS_DENIED'],
    ['EPERM', 'ERR_ACCESS_DENIED'],
    ['EISDIR', 'ERR_FILE_SYSTEM'],
    ['ENAMETOOLONG', 'ERR_FILE_SYSTEM'],
    ['ENOSPC', 'ERR_FILE_SYSTEM'],
    ['EROFS', 'ERR_FILE_SYSTEM'],
    ['EIO', 'ERR_FILE_SYSTEM'],
  ])('maps %s to %s with the path and the cause', (code, expected) => {
    const cause = errno(code);
    const error = fileSystemError(cause, 'cannot open /x', { path: '/x' });
    expect(isS3SyncError(error)).toBe(true);
    expect(error?.code).toBe(expected);
    expect(error?.path).toBe('/x');
    expect(error?.cause).toBe(cause);
  });

  it('keeps the errno and syscall of an unclassified failure', () => {
    const error = fileSystemError(errno('EISDIR', 'rename'), 'cannot rename', {});
    expect(error).toBeInstanceOf(FileSystemError);
    expect(error).toMatchObject({ errno: 'EISDIR', syscall: 'rename' });
  });

  it('is undefined for an error that is not from the file system', () => {
    expect(fileSystemError(new TypeError('bad'), 'x', {})).toBeUndefined();
    expect(
      fileSystemError(Object.assign(new Error('x'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }), 'x', {}),
    ).toBeUndefined();
    expect(fileSystemError(undefined, 'x', {})).toBeUndefined();
  });
});
