/**
 * Generated policy files, as an operator would see them at start-up: whatever the file holds, `parsePolicy`
 * answers with a policy or with one line per problem, each starting with the file's name; a one-place edit of
 * the shipped example is either accepted or reported at the place that was edited; and a connection string pasted
 * where an environment variable's name belongs is refused without its secret part ever being printed.
 * 10,200 generated inputs in total.
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import '../support/fast-check-seed.js';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { parsePolicy, type PolicyResult } from '../../src/policy/load.js';
import { PROVIDERS } from '../../src/policy/schema.js';

const EXAMPLE_TEXT = readFileSync(new URL('../../examples/policy.yaml', import.meta.url), 'utf8');
const EXAMPLE = parseYaml(EXAMPLE_TEXT) as Record<string, unknown>;
const SOURCE = 'policy.yaml';

// yaml warns on stderr about mapping keys that are collections (`? [a] : b`); generated files are full of them.
beforeEach(() => {
  vi.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
});

const sourceName = fc.oneof(
  fc.constantFrom('policy.yaml', '/etc/accessbot/policy.yaml', 'C:\\accessbot\\policy.yaml', 'my policy (copy).yaml', 'ACCESS_POLICY'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !/[\r\n\u2028\u2029]/.test(s)),
);

/**
 * Every failure is a list of non-empty, single-line messages, each starting with the source name. (Plain checks
 * rather than `expect` in the loop: some inputs yield dozens of errors, and this runs thousands of times.)
 */
function expectWellReported(result: PolicyResult, source: string): void {
  if (result.ok) {
    expect(typeof result.policy.resources).toBe('object');
    return;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  for (const error of result.errors) {
    const problem =
      typeof error !== 'string'
        ? 'is not a string'
        : !error.startsWith(`${source}:`)
          ? `does not start with ${JSON.stringify(source)}`
          : error.slice(source.length + 1).replace(/^\d+:\d+:/, '').trim() === ''
            ? 'says nothing after the source name'
            : /[\r\n]/.test(error)
              ? 'spans more than one line'
              : null;
    if (problem) throw new Error(`${JSON.stringify(error)} ${problem}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Arbitrary text and arbitrary data.

/** Pieces of YAML syntax, so generated text reaches the parser's corners (anchors, tags, flow, block scalars). */
const YAML_PIECES = [
  ':', ': ', '- ', '-', ' ', '  ', '\n', '\t', '{', '}', '[', ']', ',', '&a ', '*a', '<<: *a', '!!str ', '!!binary ', '!foo ',
  '|', '>-', "'", '"', '#', '%YAML 1.2\n', '---\n', '...\n', '?', '@', '`', '\\', '\u0000', '\ufeff', '\u2028', '\r',
  'version: 1\n', 'version', 'resources:', 'prod-db:', 'provider: postgres', 'roles:', 'read:', 'grants: [x]', 'max_duration: 4h',
  'approvers: { users: [U0BOB0002] }', 'channel: C0APPROVE1', 'connection: { env: PROD_DB_URL }', '__proto__', 'constructor',
  '1', '1e999', '0x1F', '.nan', '~', 'null', 'true', 'yes', '2001-12-14',
];

const yamlishText = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.constantFrom(...YAML_PIECES), { maxLength: 60 }).map((p) => p.join('')) },
  {
    weight: 3,
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...YAML_PIECES), fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 40 }).map((p) => p.join('')),
  },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  // The shipped example with a slice cut out or a piece spliced in: almost-valid files (the slowest to parse).
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.nat(EXAMPLE_TEXT.length), fc.nat(40), fc.constantFrom('', ...YAML_PIECES))
      .map(([at, cut, piece]) => EXAMPLE_TEXT.slice(0, at) + piece + EXAMPLE_TEXT.slice(at + cut)),
  },
);

/** Keys and values the schema knows (and a few hostile keys), so generated data goes deep into the schema. */
const KNOWN_KEYS = [
  'version', 'admins', 'principals', 'resources', 'prod-db', 'provider', 'principal', 'connection', 'env', 'roles', 'read',
  'grants', 'max_duration', 'approvers', 'users', 'approvals', 'channel', 'requesters', 'request_ttl', 'remind_after',
  'warn_before', 'U0BOB0002', '__proto__', 'constructor', 'toString', 'hasOwnProperty', '',
];
const KNOWN_VALUES = [1, 2, 0, -1, 1.5, 'postgres', 'gcp', 'mysql', 'kubernetes', '4h', '31d', 'off', '0s', 'email', 'email-local-part',
  'U0BOB0002', 'C0APPROVE1', '#general', 'PROD_DB_URL', 'app_read', true, null, ''];
const { policyish } = fc.letrec<{ policyish: unknown }>((tie) => ({
  policyish: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(...KNOWN_VALUES),
    fc.oneof(fc.string(), fc.integer(), fc.double(), fc.boolean()),
    fc.array(tie('policyish'), { maxLength: 4 }),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...KNOWN_KEYS), fc.string({ maxLength: 8 })), tie('policyish')), { maxLength: 6 })
      .map((entries) => {
        const o: Record<string, unknown> = {};
        // defineProperty, so a generated "__proto__" key is data, as a YAML file would hold it.
        for (const [k, v] of entries) Object.defineProperty(o, k, { value: v, enumerable: true, configurable: true, writable: true });
        return o;
      }),
  ),
}));

describe('parsePolicy on arbitrary input', () => {
  it('arbitrary YAML-ish text never throws, and every failure is reported line by line under the source name', () => {
    fc.assert(
      fc.property(yamlishText, sourceName, (text, source) => {
        expectWellReported(parsePolicy(text, source), source);
      }),
      { numRuns: 3_500 },
    );
  });

  it('arbitrary JSON values (JSON is YAML) never throw, and every failure is reported under the source name', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), sourceName, (value, source) => {
        expectWellReported(parsePolicy(JSON.stringify(value) ?? 'null', source), source);
      }),
      { numRuns: 2_000 },
    );
  });

  it('arbitrary policy-shaped data never throws and is reported under the source name', () => {
    fc.assert(
      fc.property(policyish, sourceName, fc.boolean(), (value, source, asYaml) => {
        expectWellReported(parsePolicy(asYaml ? stringifyYaml(value) : (JSON.stringify(value) ?? 'null'), source), source);
      }),
      { numRuns: 2_000 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// One-place edits of the shipped example.

type Path = (string | number)[];

/** Every place in the example: each key of each mapping and each item of each list. */
function placesIn(value: unknown, at: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => [[...at, i], ...placesIn(v, [...at, i])]);
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => [[...at, k], ...placesIn(v, [...at, k])]);
  return [];
}
/** Every mapping in the example, where an unknown key can be added. */
function mappingsIn(value: unknown, at: Path = []): Path[] {
  if (Array.isArray(value)) return value.flatMap((v, i) => mappingsIn(v, [...at, i]));
  if (value !== null && typeof value === 'object') return [at, ...Object.entries(value).flatMap(([k, v]) => mappingsIn(v, [...at, k]))];
  return [];
}
const PLACES = placesIn(EXAMPLE);
const MAPPINGS = mappingsIn(EXAMPLE);

function edited(path: Path, edit: (parent: any, key: string | number) => void): unknown {
  const copy = structuredClone(EXAMPLE) as any;
  let parent = copy;
  for (const segment of path.slice(0, -1)) parent = parent[segment];
  edit(parent, path[path.length - 1]!);
  return copy;
}

/** The dotted path as load.ts prints it: `resources.prod-db.roles.read.grants[0]`, odd keys as `["a b"]`. */
function dotted(path: Path): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = /^[A-Za-z0-9_-]+$/.test(segment) ? segment : `[${JSON.stringify(segment)}]`;
      return i === 0 || key.startsWith('[') ? key : `.${key}`;
    })
    .join('');
}

const PATH_TOKEN = String.raw`(?:[A-Za-z0-9_-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])`;
const PRINTED_PATH = new RegExp(String.raw`^${PATH_TOKEN}(?:\.[A-Za-z0-9_-]+|\[\d+\]|\["(?:[^"\\]|\\.)*"\])*(?=: )`);

/** The path an error names ('' for the whole file). */
function errorPath(error: string): string {
  const rest = error.slice(`${SOURCE}: `.length);
  return PRINTED_PATH.exec(rest)?.[0] ?? '';
}

/** a is b, or an ancestor of b, in printed form. */
const within = (a: string, b: string) => a === '' || b === a || b.startsWith(`${a}.`) || b.startsWith(`${a}[`);

/**
 * An error points into the edited place when it names the edited key, one of its ancestors (a mapping that
 * lost a required key, or gained an unknown one, reports itself), or something inside the edited value. One
 * cross-field rule is reported where it is fixed: removing or duplicating an approver of a role that needs N
 * approvals is reported on that role's `approvals`.
 */
function pointsInto(error: string, edit: Path): boolean {
  const at = errorPath(error);
  const place = dotted(edit);
  // A message about the whole file only fits an edit of a top-level key (an unknown key added at the top).
  if (at === '') return edit.length === 1;
  if (within(at, place) || within(place, at)) return true;
  const roleAt = edit.indexOf('approvers');
  return roleAt > 0 && at === dotted([...edit.slice(0, roleAt), 'approvals']) && /distinct approver/.test(error);
}

const scalar = fc.oneof(
  fc.string({ maxLength: 20 }).filter((s) => !(PROVIDERS as string[]).includes(s)),
  fc.constantFrom('U0BOB0002', 'U0CAROL03', 'C0APPROVE1', '4h', '31d', '1', 'PROD_DB_URL', 'off', ''),
  fc.integer({ min: -5, max: 100 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);

const edit: fc.Arbitrary<Edit> = fc.oneof<fc.Arbitrary<Edit>[]>(
  fc.record({ kind: fc.constant('delete' as const), path: fc.constantFrom(...PLACES) }),
  fc.record({ kind: fc.constant('replace' as const), path: fc.constantFrom(...PLACES), value: scalar }),
  fc.record({
    kind: fc.constant('add' as const),
    path: fc.constantFrom(...MAPPINGS),
    key: fc.oneof(fc.string({ minLength: 1, maxLength: 12 }), fc.constantFrom('aprovers', 'max_duraton', 'password', 'url', 'admin', '__proto__')),
    value: scalar,
  }),
);

type Edit = { kind: 'delete'; path: Path } | { kind: 'replace'; path: Path; value: unknown } | { kind: 'add'; path: Path; key: string; value: unknown };

function apply(e: Edit): { data: unknown; place: Path } {
  switch (e.kind) {
    case 'delete':
      return {
        place: e.path,
        data: edited(e.path, (parent, key) => (Array.isArray(parent) ? parent.splice(key as number, 1) : delete parent[key])),
      };
    case 'replace':
      return { place: e.path, data: edited(e.path, (parent, key) => (parent[key] = e.value)) };
    default: {
      const target = [...e.path, e.key];
      const data = edited(target, (parent, key) =>
        Object.defineProperty(parent, key, { value: e.value, enumerable: true, configurable: true, writable: true }),
      );
      return { place: target, data };
    }
  }
}

describe('one-place edits of the shipped example', () => {
  it('the example itself is valid', () => {
    expect(parsePolicy(EXAMPLE_TEXT, SOURCE).ok).toBe(true);
  });

  it('are accepted, or refused with every error pointing into the edited place', () => {
    fc.assert(
      fc.property(edit, (e) => {
        const { data, place } = apply(e);
        // JSON is YAML, and cheaper to write than block YAML: most of the budget goes to the parser.
        const result = parsePolicy(JSON.stringify(data), SOURCE);
        expectWellReported(result, SOURCE);
        if (result.ok) return;
        for (const error of result.errors) {
          expect(pointsInto(error, place), `${JSON.stringify(error)} does not point into ${dotted(place)}`).toBe(true);
        }
      }),
      { numRuns: 1_500 },
    );
  });

  it('deleting any required key is refused (the edit is never silently accepted)', () => {
    const required = PLACES.filter((p) => ['version', 'resources', 'provider', 'connection', 'env', 'roles', 'grants', 'max_duration', 'approvers', 'users', 'channel'].includes(String(p.at(-1))));
    for (const path of required) {
      const result = parsePolicy(stringifyYaml(apply({ kind: 'delete', path }).data), SOURCE);
      expect(result.ok, dotted(path)).toBe(false);
    }
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Secrets pasted into the connection.

const CONNECTION: Path = ['resources', 'prod-db', 'connection'];
/** The random part of a pasted credential: long enough that it cannot appear in a message by chance. */
const secretPart = fc.oneof(
  fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789!$%^*()_+=~.-'), minLength: 12, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 12, maxLength: 30 }).filter((s) => s.trim().length >= 12),
);
const pasted = (secret: string) =>
  fc.constantFrom(
    { where: 'connection', value: `postgres://u:${secret}@h/db` },
    { where: 'connection', value: secret },
    { where: 'connection', value: [`postgres://u:${secret}@h/db`] },
    { where: 'connection', value: { env: `postgres://u:${secret}@h/db` } },
    { where: 'connection', value: { env: secret } },
    { where: 'connection', value: { url: `postgres://u:${secret}@h/db` } },
    { where: 'connection', value: { env: 'PROD_DB_URL', password: secret } },
    { where: 'connection', value: { env: { value: `postgres://u:${secret}@h/db` } } },
    { where: 'connection', value: { env: [secret] } },
  );

describe('a connection string pasted into the policy', () => {
  it('is refused, and its secret part is never printed', () => {
    fc.assert(
      fc.property(
        secretPart.chain((secret) => fc.tuple(fc.constant(secret), pasted(secret))),
        ([secret, { value }]) => {
          const data = edited(CONNECTION, (parent, key) => (parent[key] = value));
          const result = parsePolicy(JSON.stringify(data), SOURCE);
          expect(result.ok).toBe(false);
          if (result.ok) return;
          expectWellReported(result, SOURCE);
          for (const error of result.errors) {
            expect(error.includes(secret), `the secret is printed in ${JSON.stringify(error)}`).toBe(false);
            expect(pointsInto(error, CONNECTION), JSON.stringify(error)).toBe(true);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('pasted straight into the file text (unquoted, as people do), is refused and its secret part is never printed', () => {
    // Passwords may start with a YAML indicator (* reads as an alias, | and > as a block scalar, ! as a tag).
    const password = fc
      .tuple(
        fc.constantFrom('', '*', '|', '>', '!', '&', '%', '@', '`', '-', '?', ':', '"', "'", '#'),
        fc.string({ unit: fc.constantFrom(...'ABCDEFGHJKLMNPabcdefghijkmn23456789$^()_+=~.-'), minLength: 12, maxLength: 30 }),
        fc.string({ unit: fc.constantFrom(...':#@&{}[],|>*!%\'" \t'), maxLength: 4 }),
      )
      .map(([lead, body, tail]) => ({ body, password: lead + body + tail }));
    const lines = ['connection: %s', 'connection: { env: %s }', 'connection: postgres://u:%s@h/db', 'connection: { env: postgres://u:%s@h/db }', 'connection:\n      env: %s'];
    fc.assert(
      fc.property(password, fc.constantFrom(...lines), ({ body, password }, line) => {
        const text = EXAMPLE_TEXT.replace('connection: { env: PROD_DB_URL }', line.replace('%s', password));
        const result = parsePolicy(text, SOURCE);
        expect(result.ok).toBe(false);
        if (result.ok) return;
        expectWellReported(result, SOURCE);
        for (const error of result.errors) expect(error.includes(body), `the secret is printed in ${JSON.stringify(error)}`).toBe(false);
      }),
      { numRuns: 600 },
    );
  });
});
