import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Real MCP registry data, kept in the repository (`test/fixtures/`, see its README). */
export const FIXTURES_DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixturePath(name: string): string {
  const path = join(FIXTURES_DIR, name);
  if (!existsSync(path)) throw new Error(`Fixture ${path} not found`);
  return path;
}
