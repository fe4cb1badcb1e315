import { type ObjectErrorOptions, ValidationError, type ValidationIssue } from '../errors.ts';

/**
 * The Standard Schema v1 interface (standardschema.dev), implemented by zod 4, valibot, arktype
 * and others. Copied rather than imported, as the spec intends, so there is no dependency.
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardSchemaV1.Result<Output> | Promise<StandardSchemaV1.Result<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

export declare namespace StandardSchemaV1 {
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
  }
}

/**
 * Checks parsed data and returns it typed: a function that returns the data (or a replacement)
 * and throws when it is invalid, or a Standard Schema (an object or a function with `~standard`,
 * such as a zod or valibot schema or an ArkType `type`). A function must return the data or throw:
 * `undefined` or a boolean (an assertion function, an Ajv-style `false`) is refused with
 * `ERR_VALIDATION`, never published.
 */
export type Validate<T> = ((data: unknown) => T | Promise<T>) | StandardSchemaV1<unknown, T>;

/**
 * Options `O` whose `validate` is a Standard Schema. The functions that take a `validate` have an
 * overload with these first, so that `T` comes from the schema alone: an ArkType `type` is also
 * callable, and inferred through its call `T` would include the errors it returns as a value.
 */
export type WithSchema<O, T> = Omit<O, 'validate'> & { readonly validate: StandardSchemaV1<unknown, T> };

// ArkType's `type(...)` is a function that also carries `~standard`: calling it returns its
// errors as a value, so the schema interface must win over the call.
function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const standard = (value as { '~standard'?: unknown })['~standard'];
  return (
    typeof standard === 'object' &&
    standard !== null &&
    typeof (standard as { validate?: unknown }).validate === 'function'
  );
}

function toPath(path: StandardSchemaV1.Issue['path']): PropertyKey[] | undefined {
  if (path === undefined) return undefined;
  // Array.from, not map: a library's path may be an Array subclass with fields of its own (ArkType's).
  return Array.from(path, (segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
}

/** Turns a `validate` option into one function that returns typed data or throws `ERR_VALIDATION`. */
export function toValidator<T>(
  validate: Validate<T> | undefined,
): (data: unknown, context: ObjectErrorOptions) => Promise<T> {
  if (validate === undefined) return async (data) => data as T;
  if (isStandardSchema(validate)) {
    return async (data, context) => {
      const result = await validate['~standard'].validate(data);
      if (result.issues === undefined) return result.value as T;
      const issues: ValidationIssue[] = result.issues.map((issue) => {
        const path = toPath(issue.path);
        return path === undefined ? { message: issue.message } : { message: issue.message, path };
      });
      const first = issues[0];
      const where = first?.path?.length ? ` at ${first.path.map(String).join('.')}` : '';
      throw new ValidationError(`Invalid data${where}: ${first?.message ?? 'rejected'}`, { ...context, issues });
    };
  }
  if (typeof validate !== 'function') {
    throw new TypeError(
      `Expected \`validate\` to be a function or a Standard Schema (with \`~standard\`), received ${String(validate)}`,
    );
  }
  return async (data, context) => {
    let result: T;
    try {
      result = await validate(data);
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      const message = error instanceof Error ? error.message : String(error);
      throw new ValidationError(`Invalid data: ${message}`, { ...context, issues: [{ message }], cause: error });
    }
    // A validator that reports instead of throwing (`false`), or asserts and returns nothing,
    // would otherwise publish its verdict as the data.
    if (result === undefined || typeof result === 'boolean') {
      const message = `validate returned ${String(result)}: it must return the data (or a replacement) or throw`;
      throw new ValidationError(`Invalid data: ${message}`, { ...context, issues: [{ message }] });
    }
    return result;
  };
}
