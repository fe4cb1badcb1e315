import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

// Dependencies published only as ES modules. The CommonJS build carries its own copy of them:
// `require()` of an ES module needs Node's require(esm), which jest's module loader (the default
// runner of NestJS projects) and Node started with --no-experimental-require-module do not have.
const esmOnly = ['p-retry', 'is-network-error'];

// Keeps each bundled package's license with its code (esbuild moves `/*!` comments to the end of
// the chunk), as the MIT license asks of copies.
const keepLicenses: NonNullable<Options['esbuildPlugins']>[number] = {
  name: 'keep-licenses',
  setup(build) {
    const filter = new RegExp(`node_modules/(${esmOnly.join('|')})/[^/]+\\.js$`);
    build.onLoad({ filter }, (args) => {
      const license = readFileSync(join(dirname(args.path), 'license'), 'utf8').trim();
      return { contents: `/*!\n${license}\n*/\n${readFileSync(args.path, 'utf8')}`, loader: 'js' };
    });
  },
};

const shared: Options = {
  // Source maps name the src/ file and line in stack traces (node --enable-source-maps) without
  // embedding the sources: half the package's size was sources embedded in maps.
  sourcemap: true,
  target: 'node22',
  platform: 'node',
  treeshake: true,
  clean: false,
};

const library: Options = { ...shared, entry, dts: true, splitting: true };

export default defineConfig(() => {
  // The builds below run side by side into one folder, so it is emptied once, before all of them.
  rmSync('dist', { recursive: true, force: true });
  return [
    {
      ...library,
      format: ['esm'],
      esbuildOptions(options) {
        options.sourcesContent = false;
      },
    },
    {
      ...library,
      format: ['cjs'],
      noExternal: esmOnly,
      esbuildPlugins: [keepLicenses],
      esbuildOptions(options) {
        options.sourcesContent = false;
        // `import()` of an optional peer (the SNS client) becomes `require()`: jest's CommonJS
        // loader has no dynamic import without --experimental-vm-modules.
        options.supported = { ...options.supported, 'dynamic-import': false };
      },
    },
    {
      ...shared,
      // The `s3-sqs-sync` command: ESM only, and it loads the library by its own name at run time,
      // so one copy of the library is loaded, whichever of its entries the command uses.
      entry: { cli: 'src/cli/main.ts' },
      format: ['esm'],
      dts: false,
      // Each command in its own chunk, loaded when it runs: `--help` and `--version` load no
      // library and no SDK, and `sync` sets its signal handlers before the SDKs load.
      splitting: true,
      external: ['s3-sqs-sync', /^s3-sqs-sync\//],
      banner: { js: '#!/usr/bin/env node' },
      esbuildOptions(options) {
        options.sourcesContent = false;
      },
    },
  ];
});
