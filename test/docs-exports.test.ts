import { readdirSync, readFileSync } from 'node:fs';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = new URL('../', import.meta.url);

/**
 * The names an entry point exports. `dist/index.d.ts` and `dist/testing.d.ts` are generated from
 * these files by tsup, name for name (src/index.ts holds named re-exports only), so reading the
 * sources gives the same list without a build in the test, and cannot be fooled by a stale `dist/`.
 */
function exportedNames(entry: string): string[] {
  const text = readFileSync(new URL(entry, root), 'utf8');
  const file = ts.createSourceFile(entry, text, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const names: string[] = [];
  for (const statement of file.statements) {
    if (ts.isExportDeclaration(statement)) {
      const clause = statement.exportClause;
      // `export *` would hide names from this list (and the house style forbids it).
      if (clause === undefined || !ts.isNamedExports(clause)) {
        throw new Error(`${entry}: \`${statement.getText(file)}\` is not a list of named exports`);
      }
      for (const element of clause.elements) names.push(element.name.text);
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (!modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (modifiers.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) names.push('default');
    else if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) names.push(declaration.name.getText(file));
    } else if ('name' in statement && statement.name !== undefined) {
      names.push((statement.name as ts.Identifier).text);
    }
  }
  return names;
}

/** The inline code spans of a Markdown text, outside fenced code blocks (code in examples does not count). */
function codeSpansOf(markdown: string): string[] {
  const prose = markdown.replace(/^[ \t]*(`{3,}|~{3,})[^\n]*\n[\s\S]*?^[ \t]*\1[^\S\n]*$/gm, '');
  return [...prose.matchAll(/(`+)([^`]|[^`][\s\S]*?[^`])\1(?!`)/g)].map((match) => (match[2] ?? '').trim());
}

/** Every inline code span of README.md and docs/*.md. */
function inlineCodeSpans(): string[] {
  const docs = readdirSync(new URL('docs/', root))
    .filter((name) => name.endsWith('.md'))
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs].flatMap((path) => codeSpansOf(readFileSync(new URL(path, root), 'utf8')));
}

/**
 * A name is documented when a code span starts with it: `createS3Sync`, `createS3Sync(options)`,
 * `ReloadableStore<T>`, `S3SyncError#toJSON()`, `new SqsListener(…)` all document theirs.
 */
function isDocumented(name: string, spans: readonly string[]): boolean {
  const escaped = name.replace(/[$]/g, '\\$');
  const pattern = new RegExp(`^(?:new\\s+)?${escaped}(?:$|[\\s(<#\\[])`);
  return spans.some((span) => pattern.test(span));
}

describe('docs', () => {
  const spans = inlineCodeSpans();

  describe.each([
    ['s3-sqs-sync', 'src/index.ts'],
    ['s3-sqs-sync/testing', 'src/testing/index.ts'],
    ['s3-sqs-sync/metrics', 'src/metrics/index.ts'],
    ['s3-sqs-sync/url', 'src/url/index.ts'],
    ['s3-sqs-sync/download', 'src/download/index.ts'],
    ['s3-sqs-sync/store', 'src/store/index.ts'],
    ['s3-sqs-sync/sqs', 'src/sqs/index.ts'],
  ])('%s', (_entry, source) => {
    const names = exportedNames(source);

    it('has exports to check', () => {
      expect(names.length).toBeGreaterThan(0);
    });

    it('mentions every export in README.md or docs/*.md, in backticks', () => {
      expect(names.filter((name) => !isDocumented(name, spans))).toEqual([]);
    });
  });

  it('reads code spans outside fenced code blocks only', () => {
    const markdown =
      'Call `parseS3Url(input)`.\n\n```ts\nconst sync = `createS3Sync`;\n```\n\n  ~~~\n  `S3Sync`\n  ~~~\n';
    expect(codeSpansOf(markdown)).toEqual(['parseS3Url(input)']);
  });

  it('counts a name at the start of a code span, never as part of a longer name', () => {
    expect(isDocumented('createS3Sync', ['createS3SyncOptions'])).toBe(false);
    expect(isDocumented('S3Sync', ['S3SyncError'])).toBe(false);
    expect(isDocumented('S3Sync', ['S3Sync'])).toBe(true);
    expect(isDocumented('SqsListener', ['new SqsListener({ client })'])).toBe(true);
    expect(isDocumented('ReloadableStore', ['ReloadableStore<T>'])).toBe(true);
    expect(isDocumented('registry', ['registry.json'])).toBe(false);
  });
});
