// Runs the shipped store contract (`s3-sqs-sync/testing`) under node:test against the built
// JsonFileStore, both loaded by package name: `node --test test/smoke/testing.node.mjs`.
import { describe, it } from 'node:test';
import { JsonFileStore } from 's3-sqs-sync';
import { storeContract, tempSource, validateRegistry } from 's3-sqs-sync/testing';

storeContract(
  'JsonFileStore (built package)',
  async () => {
    const source = await tempSource();
    const store = new JsonFileStore({ path: source.path, validate: validateRegistry, onListenerError: () => {} });
    return { ...source, store };
  },
  { describe, it },
);
