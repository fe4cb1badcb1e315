/** Option checks shared by the primitives: they throw TypeError/RangeError naming the option. */

export function checkOptionalPositive(name: string, value: unknown, integer: boolean): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || Number.isNaN(value)) {
    throw new TypeError(`Expected \`${name}\` to be a number, received ${String(value)}`);
  }
  if (value <= 0 || (integer && !Number.isInteger(value))) {
    throw new RangeError(`Expected \`${name}\` to be a positive ${integer ? 'integer' : 'number'}, received ${value}`);
  }
}

export function checkOptionalString(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0)) {
    throw new TypeError(`Expected \`${name}\` to be a non-empty string, received ${String(value)}`);
  }
}

/** An optional whole number from `min` to `max` (inclusive). */
export function checkOptionalInteger(name: string, value: unknown, min: number, max = Number.POSITIVE_INFINITY): void {
  if (value === undefined) return;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = Number.isFinite(max) ? `an integer from ${min} to ${max}` : `an integer of at least ${min}`;
    throw new RangeError(`Expected \`${name}\` to be ${range}, received ${String(value)}`);
  }
}
