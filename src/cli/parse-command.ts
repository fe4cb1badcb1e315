import { parseS3Url } from 's3-sqs-sync';
import { parseFlags, UsageError } from './args.ts';
import { PARSE_HELP } from './help.ts';
import type { CommandIo } from './sync-command.ts';

/** `s3-sqs-sync parse <url>`: the parsed location as JSON on stdout; 1 with the reason when it is not an S3 URL. */
export function runParse(argv: readonly string[], io: CommandIo): number {
  const { values, positionals } = parseFlags('parse', argv, { help: { type: 'boolean', short: 'h' } }, true);
  if (values.help === true) {
    io.stdout(PARSE_HELP);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`parse: expected one URL, received ${positionals.length}`);
  try {
    io.stdout(`${JSON.stringify(parseS3Url(positionals[0] ?? ''))}\n`);
    return 0;
  } catch (error) {
    io.stderr.write(`s3-sqs-sync parse: ${(error as Error).message}\n`);
    return 1;
  }
}
