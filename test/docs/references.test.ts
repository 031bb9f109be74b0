/**
 * Keeps the docs true to the code: every repository path the docs name exists, every test the reliability
 * matrix cites ("Proved by") exists under the title it is cited by, and the README's policy and configuration
 * tables name settings the code reads. Real files, no mocks; each check reports every miss at once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const inDir = (dir: string, ext: string): string[] =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => `${dir}/${f}`);

const DOCS = ['README.md', ...inDir('docs', '.md'), 'bench/README.md'];
const EXAMPLES = inDir('examples', '.yaml');

interface Reference {
  where: string; // file:line
  path: string; // relative to the repository root
}

/** The text of an example policy that is comment: everything from a `#` at the start or after a space. */
function commentOf(line: string): string {
  const at = line.search(/(^|\s)#/);
  return at < 0 ? '' : line.slice(at);
}

const TOP = ['src', 'test', 'migrations', 'bench', 'schema', 'docs', 'examples'];
/** Not preceded by anything that would make it part of a URL or a longer path (`…/iam/docs/x`, `../schema/`). */
const ROOTED = new RegExp(`(?<![\\w./:@-])((?:${TOP.join('|')})/[\\w./-]*)`, 'g');
/** Folders of `src/` that the docs name without the `src/` in backticks: `use-cases/grant-scope.ts`. */
const SRC_DIRS = readdirSync(join(ROOT, 'src'), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const SRC_RELATIVE = new RegExp(`\`((?:${SRC_DIRS.join('|')})/[\\w./-]*\\.ts)\``, 'g');

const RELATIVE = /(?<![\w./-])(\.\.\/[\w./-]+)/g;
/** `src/a.ts.` at the end of a sentence is `src/a.ts`. */
const tidy = (path: string): string => path.replace(/[.,;:]+$/, '');

function pathsIn(file: string, text: string, commentsOnly: boolean): Reference[] {
  const found: Reference[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = commentsOnly ? commentOf(raw) : raw;
    for (const m of line.matchAll(ROOTED)) found.push({ where: `${file}:${i + 1}`, path: tidy(m[1]!) });
    for (const m of line.matchAll(SRC_RELATIVE)) found.push({ where: `${file}:${i + 1}`, path: `src/${tidy(m[1]!)}` });
    // `$schema=../schema/policy.schema.json` in an example policy: relative to the example.
    if (commentsOnly) for (const m of line.matchAll(RELATIVE)) found.push({ where: `${file}:${i + 1}`, path: join(dirname(file), tidy(m[1]!)) });
  });
  return found;
}

/**
 * The README's architecture tree: a fenced block that starts with `src/`. Entries at column 0 are at the
 * repository root, entries at column 2 under `src/`; deeper-indented lines are descriptions continued.
 */
function readmeTree(): Reference[] {
  const lines = read('README.md').split('\n');
  const start = lines.findIndex((l, i) => l === 'src/' && lines[i - 1]?.startsWith('```'));
  if (start < 0) return [];
  const found: Reference[] = [];
  for (let i = start; i < lines.length && !lines[i]!.startsWith('```'); i++) {
    const m = /^( *)(\S+)/.exec(lines[i]!);
    if (!m || !/[./]/.test(m[2]!)) continue;
    if (m[1]!.length === 0) found.push({ where: `README.md:${i + 1}`, path: m[2]! });
    else if (m[1]!.length === 2) found.push({ where: `README.md:${i + 1}`, path: `src/${m[2]!}` });
  }
  return found;
}

function allPathReferences(): Reference[] {
  return [
    ...DOCS.flatMap((f) => pathsIn(f, read(f), false)),
    ...EXAMPLES.flatMap((f) => pathsIn(f, read(f), true)),
    ...readmeTree(),
  ];
}

const report = (misses: readonly string[]): string => `${misses.length} stale reference(s):\n  ${misses.join('\n  ')}`;

describe('paths named in the docs', () => {
  it('every src/, test/, migrations/, bench/, schema/, docs/ and examples/ path the docs name exists', () => {
    const refs = allPathReferences();
    const missing = refs.filter((r) => !r.path.includes('…') && !existsSync(join(ROOT, r.path)));
    expect(report(missing.map((r) => `${r.where} → ${r.path}`))).toBe(report([]));
    // The scan must find something in each kind of place, or it checks nothing.
    expect(refs.length).toBeGreaterThan(100);
    expect(refs.filter((r) => r.where.startsWith('README.md')).length).toBeGreaterThan(20);
    expect(readmeTree().length).toBeGreaterThan(10);
    expect(refs.filter((r) => r.where.startsWith('examples/')).length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// docs/reliability.md: the "Proved by" column
// ---------------------------------------------------------------------------------------------------------

interface Title {
  text: string;
  /** Built from parts (`${…}`, it.each's `%s` / `$name`): only `text` up to the first part is literal. */
  parameterised: boolean;
}

const titleCache = new Map<string, Title[]>();
/** Every string literal of a test file (titles may live in constants), with template heads as prefixes. */
function titlesOf(file: string): Title[] {
  const cached = titleCache.get(file);
  if (cached) return cached;
  const source = ts.createSourceFile(file, read(file), ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const titles: Title[] = [];
  const add = (text: string, built: boolean): void => {
    const cut = text.search(/%[sdifjoO#%]|\$[\w{]/);
    titles.push(cut < 0 ? { text, parameterised: built } : { text: text.slice(0, cut), parameterised: true });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) add(node.text, false);
    else if (ts.isTemplateExpression(node)) add(node.head.text, true);
    ts.forEachChild(node, visit);
  };
  visit(source);
  titleCache.set(file, titles);
  return titles;
}

interface Segment {
  where: string;
  file: string;
  segment: string;
}

/**
 * `test/x.test.ts › A › B` names a file, a describe and a test: in the fault matrix's "Proved by" column, and
 * anywhere else in the docs. On the same line, a reference that starts with `…` or `›` is in the file named
 * before it (`… › C`, `› D`).
 */
function titleReferences(): { files: { where: string; file: string }[]; segments: Segment[] } {
  const files: { where: string; file: string }[] = [];
  const segments: Segment[] = [];
  for (const doc of DOCS) {
    read(doc)
      .split('\n')
      .forEach((line, i) => {
        const where = `${doc}:${i + 1}`;
        let file: string | undefined;
        for (const m of line.matchAll(/`([^`]+)`/g)) {
          const parts = m[1]!.split('›').map((p) => p.trim());
          if (/^test\/\S+\.test\.ts$/.test(parts[0]!)) {
            file = parts.shift()!;
            files.push({ where, file });
          } else if (/^(…|)$/.test(parts[0]!) && parts.length > 1 && file !== undefined) {
            parts.shift();
          } else {
            continue; // other code on the line (`SKIP LOCKED`), not a test reference
          }
          for (const segment of parts) if (segment !== '' && segment !== '…') segments.push({ where, file, segment });
        }
      });
  }
  return { files, segments };
}

/** The "Proved by" references of docs/reliability.md's fault matrix, one per table row at least. */
function provedByRows(): number {
  const lines = read('docs/reliability.md').split('\n');
  return lines.filter((l) => /^\| .*`test\/\S+\.test\.ts[^`]*` *[^|]*\|$/.test(l)).length;
}

/** Whether a title of the file reads as the cited segment; undefined when the segment cannot be checked. */
function segmentFound(titles: readonly Title[], segment: string): boolean | undefined {
  const pieces = segment.split('…').map((p) => p.trim());
  const prefix = pieces[0]!;
  if (prefix !== '') {
    return titles.some(
      (t) =>
        t.text.startsWith(prefix) ||
        // A parameterised title: its literal start must begin the cited one.
        (t.parameterised && t.text.trim().length >= 8 && prefix.startsWith(t.text.trimEnd())),
    );
  }
  // `… ten years ahead …`: a fragment from the middle of a title.
  const fragment = pieces.find((p) => p !== '');
  if (fragment === undefined) return undefined;
  return titles.some((t) => t.text.includes(fragment)) || (titles.some((t) => t.parameterised) ? undefined : false);
}

describe('the tests the docs cite (docs/reliability.md › Proved by) exist', () => {
  it('every "Proved by" test file exists', () => {
    const { files } = titleReferences();
    const missing = files.filter((f) => !existsSync(join(ROOT, f.file)));
    expect(report(missing.map((f) => `${f.where} → ${f.file}`))).toBe(report([]));
    expect(files.length).toBeGreaterThan(40);
    expect(provedByRows()).toBeGreaterThan(40);
  });

  it('every cited describe and test title appears in its file', () => {
    const { segments } = titleReferences();
    const misses: string[] = [];
    let checked = 0;
    for (const s of segments) {
      if (!existsSync(join(ROOT, s.file))) continue; // reported by the test above
      const found = segmentFound(titlesOf(s.file), s.segment);
      if (found === undefined) continue;
      checked++;
      if (!found) misses.push(`${s.where} → ${s.file} › ${s.segment}`);
    }
    expect(report(misses)).toBe(report([]));
    // So that a change in the page's layout cannot make this check nothing.
    expect(checked).toBeGreaterThan(60);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Code names in backticks
// ---------------------------------------------------------------------------------------------------------

/** Where code is named by its symbols; docs/providers.md is left out: it names vendor APIs and policies. */
const SYMBOL_DOCS = DOCS.filter((d) => d !== 'docs/providers.md');

describe('code names in the docs', () => {
  it('every camelCase or PascalCase name in backticks (`RequestStore.apply`, `surviveConnectionLoss`) is in src/', () => {
    const source = readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => read(`src/${f}`))
      .join('\n');
    const misses: string[] = [];
    let checked = 0;
    for (const doc of SYMBOL_DOCS) {
      read(doc)
        .split('\n')
        .forEach((line, i) => {
          for (const m of line.matchAll(/`([A-Za-z_][\w.]*)(?:\(\))?`/g)) {
            const name = m[1]!;
            if (!/[a-z][A-Z]|^[A-Z][a-z]+[A-Z]/.test(name)) continue; // snake_case settings, plain words
            checked++;
            // Substring: `PutRolePolicy` is the SDK's `PutRolePolicyCommand`.
            const absent = name.split('.').filter((part) => part !== '' && !source.includes(part));
            if (absent.length > 0) misses.push(`${doc}:${i + 1} → ${name}`);
          }
        });
    }
    expect(report(misses)).toBe(report([]));
    expect(checked).toBeGreaterThan(30);
  });
});

// ---------------------------------------------------------------------------------------------------------
// README tables: policy keys and environment variables
// ---------------------------------------------------------------------------------------------------------

/** The first-column backticked names of the README table whose header starts with `header`. */
function readmeTableKeys(header: string): { where: string; key: string }[] {
  const lines = read('README.md').split('\n');
  const start = lines.findIndex((l) => l.startsWith(header));
  expect(start, `README.md has a table starting "${header}"`).toBeGreaterThanOrEqual(0);
  const keys: { where: string; key: string }[] = [];
  for (let i = start + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const m = /^\| `([^`]+)` \|/.exec(lines[i]!);
    if (m) keys.push({ where: `README.md:${i + 1}`, key: m[1]! });
  }
  return keys;
}

/** The source text of `const <name> = …` up to the next top-level declaration. */
function declaration(source: string, name: string): string {
  const at = source.indexOf(`const ${name} =`);
  expect(at, `const ${name} is declared`).toBeGreaterThanOrEqual(0);
  const end = source.slice(at + 1).search(/\n(const|function|export|type|interface) /);
  return end < 0 ? source.slice(at) : source.slice(at, at + 1 + end);
}

describe('the README tables name what the code reads', () => {
  it('every roles.<name>.<key> of the policy table is a key of the role schema', () => {
    const schema = read('src/policy/schema.ts');
    const role = declaration(schema, 'role');
    const members = declaration(schema, 'members');
    const keys = readmeTableKeys('| field |').filter((k) => k.key.startsWith('roles.<name>.'));
    const misses: string[] = [];
    for (const { where, key } of keys) {
      const [first, second] = key.slice('roles.<name>.'.length).split('.');
      if (!new RegExp(`\\b${first}:`).test(role)) misses.push(`${where} → ${key} (no ${first}: in the role schema)`);
      if (second !== undefined && !new RegExp(`\\b${second}:`).test(members)) misses.push(`${where} → ${key} (no ${second}: in members)`);
    }
    expect(report(misses)).toBe(report([]));
    expect(keys.length).toBeGreaterThan(15);
  });

  it('every top-level and resources.<name>.<key> of the policy table is read by the policy or a provider', () => {
    const sources = ['src/policy', 'src/providers']
      .flatMap((dir) =>
        readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
          .filter((f) => f.endsWith('.ts'))
          .map((f) => read(`${dir}/${f}`)),
      )
      .join('\n');
    const keys = readmeTableKeys('| field |').filter((k) => !k.key.startsWith('roles.'));
    const misses = keys
      .map(({ where, key }) => ({ where, key, name: key.replace(/^resources\.<name>\./, '') }))
      .filter(({ name }) => !new RegExp(`\\b${name}:`).test(sources))
      .map(({ where, key }) => `${where} → ${key}`);
    expect(report(misses)).toBe(report([]));
    expect(keys.length).toBeGreaterThan(5);
  });

  it('every variable of the configuration table is read in src/config.ts', () => {
    const config = read('src/config.ts');
    const vars = readmeTableKeys('| variable |');
    const misses = vars.filter((v) => !new RegExp(`\\b${v.key}\\b`).test(config)).map((v) => `${v.where} → ${v.key}`);
    expect(report(misses)).toBe(report([]));
    expect(vars.length).toBeGreaterThan(8);
  });
});
