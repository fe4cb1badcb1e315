// Resolves `s3-sqs-sync` (and its subpaths) to the TypeScript sources, so a test can start an
// example or the command as a child process without a build: `node --import <this file> …`.
import { register } from 'node:module';

const source = new URL('../../src/', import.meta.url).href;
const subpaths = Object.fromEntries([
  ['', 'index.ts'],
  ...['url', 'download', 'store', 'sqs', 'testing', 'metrics'].map((name) => [`/${name}`, `${name}/index.ts`]),
]);

register(
  `data:text/javascript,${encodeURIComponent(`
    const source = ${JSON.stringify(source)};
    const subpaths = ${JSON.stringify(subpaths)};
    export async function resolve(specifier, context, next) {
      if (specifier === 's3-sqs-sync' || specifier.startsWith('s3-sqs-sync/')) {
        const file = subpaths[specifier.slice('s3-sqs-sync'.length)];
        if (file !== undefined) return { url: source + file, shortCircuit: true };
      }
      return next(specifier, context);
    }
  `)}`,
);
