import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../support/files.ts';

/** A directory with one source file, replaced atomically (temp + rename) like a real publisher. */
export async function sourceDir() {
  const dir = await tempDir('s3-sqs-sync-store-');
  const path = join(dir.path, 'registry.json');
  let candidates = 0;
  return {
    dir: dir.path,
    path,
    async setSource(content: string | Buffer | null): Promise<void> {
      if (content === null) {
        await rm(path, { force: true });
        return;
      }
      const temp = `${path}.writing`;
      await writeFile(temp, content);
      await rename(temp, path);
    },
    async candidate(content: string): Promise<string> {
      const candidate = join(dir.path, `candidate-${++candidates}.json`);
      await writeFile(candidate, content);
      return candidate;
    },
    cleanup: dir.cleanup,
  };
}
