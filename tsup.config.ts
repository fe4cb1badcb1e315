import { defineConfig } from 'tsup';

export default defineConfig({
  // Named entries: dist/index.* and dist/testing.* (the `s3-sqs-sync/testing` subpath).
  entry: { index: 'src/index.ts', testing: 'src/testing/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  splitting: false,
  treeshake: true,
});
