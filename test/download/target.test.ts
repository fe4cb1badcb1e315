import { chmod, lstat, mkdir, readFile, readlink, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { downloadS3Object, FileSystemError, NotFoundError } from '../../src/index.ts';
import { leftovers, tempDir } from '../support/files.ts';
import { client, NEW, OLD, ok, rejection } from './mock-s3.ts';

const s3 = mockClient(S3Client);
const source = 's3://registry-prod/registry.json';
let dir: Awaited<ReturnType<typeof tempDir>>;
let target: string;

beforeEach(async () => {
  s3.reset();
  s3.on(GetObjectCommand).callsFake(() => ok(NEW));
  dir = await tempDir();
  target = join(dir.path, 'registry.json');
  await writeFile(target, OLD);
});

afterEach(async () => {
  await dir.cleanup();
});

describe('downloadS3Object', () => {
  describe('target', () => {
    it('keeps the mode of the file it replaces', async () => {
      await chmod(target, 0o600);
      await downloadS3Object({ client, source, target });
      expect(await readFile(target, 'utf8')).toBe(NEW);
      expect((await stat(target)).mode & 0o777).toBe(0o600);
      await chmod(target, 0o640);
      await downloadS3Object({ client, source, target, mode: 0o644 });
      expect((await stat(target)).mode & 0o777).toBe(0o640);
    });

    it('keeps the owner of the file it replaces', async () => {
      const before = await stat(target);
      await downloadS3Object({ client, source, target });
      const after = await stat(target);
      expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    });

    it('uses `mode` for a target that does not exist yet', async () => {
      const fresh = join(dir.path, 'fresh.json');
      await downloadS3Object({ client, source, target: fresh, mode: 0o600 });
      expect((await stat(fresh)).mode & 0o777).toBe(0o600);
    });

    it('follows a symlink and replaces the file it names, keeping the link', async () => {
      // The layout of a mounted config: the visible name is a link into a data directory.
      await mkdir(join(dir.path, '..data'));
      const real = join(dir.path, '..data', 'registry.json');
      await writeFile(real, OLD);
      await chmod(real, 0o600);
      const link = join(dir.path, 'linked.json');
      await symlink(join('..data', 'registry.json'), link);
      const result = await downloadS3Object({ client, source, target: link });
      expect(result).toMatchObject({ status: 'downloaded', path: link });
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(await readlink(link)).toBe(join('..data', 'registry.json'));
      expect(await readFile(real, 'utf8')).toBe(NEW);
      expect((await stat(real)).mode & 0o777).toBe(0o600);
      expect(await leftovers(join(dir.path, '..data'))).toEqual([]);
      expect(await leftovers(dir.path)).toEqual([]);
    });

    it('creates the file a dangling symlink names', async () => {
      const link = join(dir.path, 'dangling.json');
      await symlink('created.json', link);
      await downloadS3Object({ client, source, target: link });
      expect((await lstat(link)).isSymbolicLink()).toBe(true);
      expect(await readFile(join(dir.path, 'created.json'), 'utf8')).toBe(NEW);
    });
  });

  describe('file-system errors', () => {
    it('fails with ERR_NOT_FOUND before any request when the directory is missing', async () => {
      const missing = join(dir.path, 'no-such-dir', 'registry.json');
      const error = await rejection(downloadS3Object({ client, source, target: missing }));
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', path: missing, bucket: 'registry-prod' });
      expect((error as Error).message).toContain('does not exist');
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('fails with ERR_FILE_SYSTEM (EISDIR) before any request when the target is a directory', async () => {
      const directory = join(dir.path, 'a-directory');
      await mkdir(directory);
      const error = await rejection(downloadS3Object({ client, source, target: directory }));
      expect(error).toBeInstanceOf(FileSystemError);
      expect(error).toMatchObject({ code: 'ERR_FILE_SYSTEM', errno: 'EISDIR', path: directory });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('fails with ERR_FILE_SYSTEM (ENAMETOOLONG) before any request for a name over NAME_MAX', async () => {
      const long = join(dir.path, `${'n'.repeat(256)}.json`);
      const error = await rejection(downloadS3Object({ client, source, target: long }));
      expect(error).toMatchObject({ code: 'ERR_FILE_SYSTEM', errno: 'ENAMETOOLONG', path: long });
      expect(s3.commandCalls(GetObjectCommand)).toHaveLength(0);
    });

    it('keeps the temp name within NAME_MAX for a target name close to it', async () => {
      const name = `${'é'.repeat(120)}.json`; // 245 bytes in UTF-8: the temp name must be shortened
      const near = join(dir.path, name);
      let tempName = '';
      await downloadS3Object({
        client,
        source,
        target: near,
        verify: (tempPath) => {
          tempName = tempPath.slice(dir.path.length + 1);
        },
      });
      expect(await readFile(near, 'utf8')).toBe(NEW);
      expect(Buffer.byteLength(tempName)).toBeLessThanOrEqual(255);
      expect(tempName.endsWith('.s3-sqs-sync.tmp')).toBe(true);
    });

    it('maps a temp file removed under it to a typed error, not a raw ENOENT', async () => {
      const error = await rejection(
        downloadS3Object({
          client,
          source,
          target,
          verify: async (tempPath) => {
            await unlink(tempPath);
          },
        }),
      );
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error).toMatchObject({ code: 'ERR_NOT_FOUND', path: target, etag: '"etag-new"' });
      expect(await readFile(target, 'utf8')).toBe(OLD);
    });
  });
});
