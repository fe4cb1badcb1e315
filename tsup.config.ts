import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries: dist/index.*, and one per subpath (`s3-sqs-sync/testing`, `s3-sqs-sync/metrics`),
  // built in one run so their declarations import the shared types from ./index.js.
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts', metrics: 'src/metrics/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
  treeshake: true,
});
