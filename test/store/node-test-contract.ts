// Run by test/store/testing.test.ts as `node --test` on this file: the shipped contract under
// node:test, with its describe and it, against JsonFileStore. With CONTRACT_BROKEN=1 the store
// skips validation, and the run must fail: the suite asserts, it does not only execute.
import { describe, it } from 'node:test';
import { JsonFileStore } from '../../src/index.ts';
import { type Registry, storeContract, tempSource, validateRegistry } from '../../src/testing/index.ts';

storeContract(
  'JsonFileStore',
  async () => {
    const source = await tempSource();
    const validate = process.env.CONTRACT_BROKEN === '1' ? (data: unknown) => data as Registry : validateRegistry;
    const store = new JsonFileStore<Registry>({ path: source.path, validate, onListenerError: () => {} });
    return { ...source, store };
  },
  { describe, it },
);
