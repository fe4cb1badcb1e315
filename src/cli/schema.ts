import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { ValidationIssue } from 's3-sqs-sync';
import { UsageError } from './args.ts';

/** Report this many of Ajv's errors at most: a file that is wrong everywhere must not make a huge log line. */
const MAX_ISSUES = 20;

interface AjvError {
  readonly instancePath: string;
  readonly message?: string;
}
interface AjvValidate {
  (data: unknown): boolean;
  errors?: readonly AjvError[] | null;
}
interface AjvInstance {
  compile(schema: object): AjvValidate;
  addMetaSchema(schema: object): AjvInstance;
}
type AjvConstructor = new (options: Record<string, unknown>) => AjvInstance;

/** `/servers/0/name` → `['servers', 0, 'name']` (JSON Pointer, RFC 6901). */
function pointerToPath(pointer: string): PropertyKey[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((part) => (/^(0|[1-9]\d*)$/.test(part) ? Number(part) : part));
}

/**
 * Ajv's draft by `$schema`: 2020-12 and 2019-09 have their own classes; the default class reads
 * draft-07, and draft-06 once its meta-schema (shipped with Ajv, not loaded by default) is added.
 */
function ajvModule(schema: Record<string, unknown>): { readonly module: string; readonly metaSchema?: string } {
  const declared = typeof schema.$schema === 'string' ? schema.$schema : '';
  if (declared.includes('2020-12')) return { module: 'ajv/dist/2020' };
  if (declared.includes('2019-09')) return { module: 'ajv/dist/2019' };
  if (declared.includes('draft-06')) return { module: 'ajv', metaSchema: 'ajv/dist/refs/json-schema-draft-06.json' };
  if (declared.includes('draft-04') || declared.includes('draft-03')) {
    throw new UsageError(`--schema: ${declared} is not supported; use draft-06, draft-07, 2019-09 or 2020-12`);
  }
  return { module: 'ajv' };
}

/**
 * Reads and compiles a JSON Schema once, with Ajv (loaded only here, so the command starts fast
 * without `--schema`). Returns a check that gives Ajv's errors as issues (`undefined` when the
 * data is valid). `format` keywords are not checked: Ajv needs a separate package for them.
 */
export async function compileSchema(
  schemaPath: string,
): Promise<(data: unknown) => readonly ValidationIssue[] | undefined> {
  let schema: unknown;
  try {
    schema = JSON.parse(await readFile(schemaPath, 'utf8'));
  } catch (error) {
    throw new UsageError(`--schema: cannot read ${schemaPath}: ${(error as Error).message}`);
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new UsageError(`--schema: ${schemaPath} does not hold a JSON Schema object`);
  }
  // Ajv is CommonJS: require gives the class itself, where import() would need `.default.default` under some loaders.
  const require = createRequire(import.meta.url);
  const draft = ajvModule(schema as Record<string, unknown>);
  const Ajv = require(draft.module) as AjvConstructor;
  let validate: AjvValidate;
  try {
    // strict: false accepts the annotations real schemas carry (`example`, vendor keywords).
    const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });
    if (draft.metaSchema !== undefined) ajv.addMetaSchema(require(draft.metaSchema) as object);
    validate = ajv.compile(schema);
  } catch (error) {
    throw new UsageError(`--schema: ${schemaPath} is not a valid JSON Schema: ${(error as Error).message}`);
  }
  return (data) => {
    if (validate(data)) return undefined;
    return (validate.errors ?? []).slice(0, MAX_ISSUES).map((error) => ({
      message: error.message ?? 'is invalid',
      path: pointerToPath(error.instancePath),
    }));
  };
}
