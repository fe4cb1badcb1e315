/**
 * `s3-sqs-sync/testing`: the contract every `ReloadableStore` implementation must pass, to run
 * from the implementer's own tests under vitest, jest or `node:test`.
 */
export type { Registry, TempSource } from './source.ts';
export { registry, tempSource, validateRegistry } from './source.ts';
export type { ContractTestApi, StoreHarness } from './store-contract.ts';
export { storeContract } from './store-contract.ts';
