/**
 * Freezes `value` and everything reachable from it that can be frozen. Objects that are already
 * frozen are still walked (a frozen object can hold mutable ones: `Object.freeze` is shallow).
 * Typed arrays and Buffers cannot be frozen while they hold elements, so they are left as they are;
 * the values of a Map or Set are frozen, the collection itself stays mutable (JavaScript offers no
 * way to freeze its entries). Each object is visited once, so shared objects and cycles are fine.
 */
export function deepFreeze(value: unknown): void {
  const seen = new WeakSet<object>();
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if ((typeof item !== 'object' && typeof item !== 'function') || item === null || seen.has(item)) continue;
    seen.add(item);
    if (ArrayBuffer.isView(item) || item instanceof ArrayBuffer || item instanceof SharedArrayBuffer) continue;
    Object.freeze(item);
    if (Array.isArray(item)) {
      for (const element of item) stack.push(element);
      continue;
    }
    if (item instanceof Map) {
      for (const [key, entry] of item) stack.push(key, entry);
    } else if (item instanceof Set) {
      for (const entry of item) stack.push(entry);
    }
    // Own data properties only: reading an accessor could run code with side effects.
    for (const key of Reflect.ownKeys(item)) {
      const descriptor = Object.getOwnPropertyDescriptor(item, key);
      if (descriptor !== undefined && 'value' in descriptor) stack.push(descriptor.value);
    }
  }
}
