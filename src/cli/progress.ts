import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { TEMP_FILE_SUFFIX } from 's3-sqs-sync';

/** Below this a download is over before a bar would help. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
const INTERVAL_MS = 200;
const WIDTH = 30;
const MIDDLEWARE = 's3SqsSyncCliProgress';

export interface Progress {
  /** Reads the temp file and redraws the bar now (the timer calls it every 200 ms). */
  tick(): Promise<void>;
  stop(): void;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

/**
 * A progress bar on a terminal for the first download. The pipeline does not expose its
 * download's progress, so the bar reads what it can see from outside: the object's size from the
 * `GetObject` response (an SDK middleware that reads the header, never the body) and the bytes
 * written so far from the size of the download's temp file beside the target.
 */
export function startProgress(s3: S3Client, target: string, stream: NodeJS.WriteStream): Progress {
  let total: number | undefined;
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      const length = (result.output as { ContentLength?: unknown }).ContentLength;
      if (context.commandName === 'GetObjectCommand' && typeof length === 'number') total = length;
      return result;
    },
    { step: 'initialize', name: MIDDLEWARE },
  );
  const directory = dirname(target);
  const prefix = `.${basename(target)}.${process.pid}.`;
  let shown = false;
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const name = (await readdir(directory)).find(
        (entry) => entry.startsWith(prefix) && entry.endsWith(TEMP_FILE_SUFFIX),
      );
      if (name === undefined) return;
      const bytes = (await stat(join(directory, name))).size;
      if (!shown && (total ?? bytes) < PROGRESS_MIN_BYTES) return;
      shown = true;
      const ratio = total === undefined || total === 0 ? undefined : Math.min(1, bytes / total);
      const bar =
        ratio === undefined
          ? ''
          : `[${'#'.repeat(Math.round(ratio * WIDTH)).padEnd(WIDTH, '-')}] ${Math.floor(ratio * 100)}% `;
      stream.write(
        `\r\x1b[2Kdownloading ${basename(target)} ${bar}${mib(bytes)}${total === undefined ? '' : `/${mib(total)}`} MiB`,
      );
    } catch {
      // The temp file is renamed away when the download ends: nothing to show any more.
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), INTERVAL_MS);
  timer.unref();
  return {
    tick,
    stop() {
      clearInterval(timer);
      s3.middlewareStack.remove(MIDDLEWARE);
      if (shown) stream.write('\r\x1b[2K');
    },
  };
}
