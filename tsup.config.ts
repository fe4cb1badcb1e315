import { defineConfig, type Options } from 'tsup';

// One entry per subpath (`s3-sqs-sync`, `s3-sqs-sync/url`, …), built in one run with code
// splitting, so that the subpaths share one copy of each module (one `S3SyncError` class, whose
// `instanceof` works across them) and their declarations import shared types instead of copying.
const entry = {
  index: 'src/index.ts',
  url: 'src/url/index.ts',
  download: 'src/download/index.ts',
  store: 'src/store/index.ts',
  sqs: 'src/sqs/index.ts',
  testing: 'src/testing/index.ts',
  metrics: 'src/metrics/index.ts',
};

const shared: Options = {
  // Source maps name the src/ file and line in stack traces (node --enable-source-maps) without
  // embedding the sources: half the package's size was sources embedded in maps.
  sourcemap: true,
  esbuildOptions(options) {
    options.sourcesContent = false;
  },
  target: 'node22',
  platform: 'node',
  treeshake: true,
};

export default defineConfig([
  {
    ...shared,
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    // Everything but the command, which the second build writes (possibly first).
    clean: ['**/*', '!cli.js', '!cli.js.map'],
    splitting: true,
  },
  {
    ...shared,
    // The `s3-sqs-sync` command: ESM only, and it loads the library by its own name at run time,
    // so one copy of the library is loaded, whichever of its entries the command uses.
    entry: { cli: 'src/cli/main.ts' },
    format: ['esm'],
    dts: false,
    clean: false,
    splitting: false,
    external: ['s3-sqs-sync', /^s3-sqs-sync\//],
    banner: { js: '#!/usr/bin/env node' },
  },
]);
