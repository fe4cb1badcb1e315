import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';

/** True while a process with this pid runs (a zombie nobody reaps counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** The pid a command wrote to `file` (a number and a newline), once it has. */
export async function pidFrom(file: string, timeoutMs = 10_000): Promise<number> {
  await expect.poll(() => readFile(file, 'utf8').catch(() => ''), { timeout: timeoutMs }).toMatch(/^\d+\n/);
  return Number((await readFile(file, 'utf8')).trim());
}
