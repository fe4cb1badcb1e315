// Runs the shipped store contract (`s3-sqs-sync/testing`) under jest against the built
// JsonFileStore, both loaded by package name through jest's own CommonJS loader, which, unlike
// Node's, cannot require an ES module: `npx jest --rootDir test/smoke --testMatch '**/*.jest.cjs'`.
const { JsonFileStore } = require('s3-sqs-sync');
const { storeContract, tempSource, validateRegistry } = require('s3-sqs-sync/testing');

storeContract(
  'JsonFileStore (built package, jest)',
  async () => {
    const source = await tempSource();
    const store = new JsonFileStore({ path: source.path, validate: validateRegistry, onListenerError: () => {} });
    return { ...source, store };
  },
  { describe, it },
);
