import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Examples import the package by name, as users do; tests run them against the sources.
  resolve: {
    alias: [
      { find: /^s3-sqs-sync\/testing$/, replacement: new URL('./src/testing/index.ts', import.meta.url).pathname },
      { find: /^s3-sqs-sync\/metrics$/, replacement: new URL('./src/metrics/index.ts', import.meta.url).pathname },
      { find: /^s3-sqs-sync$/, replacement: new URL('./src/index.ts', import.meta.url).pathname },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Emulator tests start one in-process server per file; two cores run two files at a time.
    maxWorkers: 2,
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
