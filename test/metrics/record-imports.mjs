// Imports each module named on the command line, in order, and prints (as JSON) every module URL
// resolved so far after each one. The in-thread `registerHooks` resolve hook sees every `import`
// and `require` of the process, including those inside node_modules.
import { registerHooks } from 'node:module';

const resolved = new Set();
registerHooks({
  resolve(specifier, context, nextResolve) {
    const result = nextResolve(specifier, context);
    resolved.add(result.url);
    return result;
  },
});

const report = [];
for (const entry of process.argv.slice(2)) {
  await import(entry);
  report.push({ entry, resolved: [...resolved] });
}
process.stdout.write(JSON.stringify(report));
