import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Examples import the package by name, as users do; tests run them against the sources.
  resolve: {
    alias: [
      ...['url', 'download', 'store', 'sqs', 'testing', 'metrics'].map((name) => ({
        find: new RegExp(`^s3-sqs-sync/${name}$`),
        replacement: new URL(`./src/${name}/index.ts`, import.meta.url).pathname,
      })),
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
