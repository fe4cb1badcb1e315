import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/**
 * The shared real-data fixtures live beside the repository (`../shared/fixtures`), in CI as on a
 * developer's machine. `S3_SQS_SYNC_FIXTURES` points elsewhere when needed.
 */
export const FIXTURES_DIR = process.env.S3_SQS_SYNC_FIXTURES ?? resolve(here, '..', '..', '..', 'shared', 'fixtures');

export function fixturePath(name: string): string {
  const path = join(FIXTURES_DIR, name);
  if (!existsSync(path)) {
    throw new Error(`Fixture ${path} not found; set S3_SQS_SYNC_FIXTURES to the shared fixtures folder`);
  }
  return path;
}
