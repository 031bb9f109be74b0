/**
 * Reading a policy file: YAML → schema → domain `Policy`, with every problem as one line a person can act on
 * (`policy.yaml: resources.prod-db.roles.read.max_duration: "4 hours" is not a duration; …`).
 */
import { readFile } from 'node:fs/promises';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { Policy } from '../domain/policy.js';
import { providerDefinition } from '../providers/catalog.js';
import { policySchema } from './schema.js';

export type PolicyResult = { ok: true; policy: Policy } | { ok: false; errors: string[] };

export function parsePolicy(text: string, source: string): PolicyResult {
  const lineCounter = new LineCounter();
  // Duplicate keys are errors (yaml's default, kept on purpose): two `approvers:` must not mean "the last one".
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((e) => {
        const { line, col } = lineCounter.linePos(e.pos[0]);
        return `${source}:${line}:${col}: YAML syntax error: ${yamlMessage(e.code, e.message)}`;
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (e) {
    // toJS throws for unresolved aliases or an alias bomb; those carry no position.
    return { ok: false, errors: [`${source}: YAML error: ${yamlMessage('', e instanceof Error ? e.message : String(e))}`] };
  }
  const parsed = policySchema.safeParse(data, { error: plainLanguage });
  if (parsed.success) return { ok: true, policy: parsed.data };
  return { ok: false, errors: parsed.error.issues.flatMap((issue) => formatIssue(source, issue)) };
}

export async function loadPolicyFile(path: string): Promise<PolicyResult> {
  const read = await readPolicyFile(path);
  return read.ok ? { ok: true, policy: read.policy } : read;
}

/** Like `loadPolicyFile`, keeping the file's text too (what a policy version stores, byte for byte). */
export async function readPolicyFile(path: string): Promise<{ ok: true; policy: Policy; text: string } | { ok: false; errors: string[] }> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    return { ok: false, errors: [`${path}: ${readProblem(e)}`] };
  }
  const parsed = parsePolicy(text, path);
  return parsed.ok ? { ok: true, policy: parsed.policy, text } : parsed;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Every environment variable the policy's resources name, with the resource and setting that name it. */
function envReferences(policy: Policy): { resource: string; setting: string; variable: string }[] {
  return Object.entries(policy.resources).flatMap(([resource, res]) =>
    (providerDefinition(res.provider)?.envNames(res.settings) ?? []).map(({ setting, variable }) => ({ resource, setting, variable })),
  );
}

const isSet = (value: string | undefined): value is string => value !== undefined && value.trim() !== '';

/**
 * The values of every environment variable the policy names (`connection: { env: NAME }`, `password_key`,
 * credentials), as set in `env`: secrets by definition, for the logger to mask.
 */
export function policyEnvValues(policy: Policy, env: Env): string[] {
  return envReferences(policy)
    .map(({ variable }) => env[variable])
    .filter(isSet);
}

/**
 * The environment variables the policy's resources name (connection strings, credentials) that are unset or
 * empty. Only names are printed, never values.
 */
export function missingConnectionEnv(policy: Policy, env: Env): string[] {
  return envReferences(policy).flatMap(({ resource, setting, variable }) => {
    const value = env[variable];
    if (isSet(value)) return [];
    const state = value === undefined ? 'is not set' : 'is empty';
    return [`resources.${pathKey(resource)}.${setting}: environment variable ${variable} ${state}`];
  });
}

function readProblem(e: unknown): string {
  const code = e instanceof Error && 'code' in e ? e.code : undefined;
  switch (code) {
    case 'ENOENT':
      return 'policy file not found; check the path (ACCESS_POLICY), or start from examples/policy.yaml';
    case 'EACCES':
    case 'EPERM':
      return 'policy file is not readable by this process; check its permissions';
    case 'EISDIR':
      return 'is a directory; point ACCESS_POLICY at the policy file itself';
    default:
      return `cannot read the policy file (${typeof code === 'string' ? code : 'unknown error'})`;
  }
}

/**
 * yaml quotes the file's own text in some messages, and the file may hold a pasted secret (`connection: *s3cr3t…`
 * reads as an alias, `>s3cr3t…` as a block scalar header, `!s3cr3t!…` as a tag): those are reworded without it.
 */
function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'the file must hold a single YAML document; remove the extra "---"';
  if (code === 'TAG_RESOLVE_FAILED') return 'an unknown tag (a value that starts with !); quote the value';
  if (code === 'BAD_DQ_ESCAPE') return 'an invalid escape sequence (\\…) in a double-quoted value; use single quotes for text with backslashes';
  if (message.startsWith('Unresolved alias')) {
    return 'an alias (*name) refers to an anchor (&name) that is not defined before it; a value that starts with * must be quoted';
  }
  if (message.startsWith('Block scalar header includes extra characters')) {
    return 'unexpected text after | or >; start the block on the next line, or quote a value that starts with | or >';
  }
  if (message.startsWith('Not a YAML token')) return 'a character that cannot appear here';
  return oneLine(message);
}

/** One line per problem: control and line-separator characters a message quotes from the file are shown escaped. */
function oneLine(message: string): string {
  return message.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Fallback wording for issues our schema does not word itself. Describes types, never echoes values. */
function plainLanguage(iss: z.core.$ZodRawIssue): string | undefined {
  if (iss.code !== 'invalid_type') return undefined;
  if (iss.input === undefined) return 'required';
  return `must be ${NOUNS[iss.expected] ?? iss.expected}, not ${describe(iss.input)}`;
}

const NOUNS: Record<string, string> = {
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
};

function describe(input: unknown): string {
  if (input === null) return 'empty';
  if (Array.isArray(input)) return 'a list';
  if (typeof input === 'object') return 'a mapping';
  if (typeof input === 'string') return 'text';
  return `a ${typeof input}`;
}

function formatIssue(source: string, issue: z.core.$ZodIssue): string[] {
  // A bad record key is reported by zod as a wrapper around the key's own issues; show those.
  if (issue.code === 'invalid_key') {
    return issue.issues.map((inner) => line(source, issue.path, inner.message));
  }
  return [line(source, issue.path, issue.message)];
}

function line(source: string, path: PropertyKey[], message: string): string {
  // Schema messages may quote the value they refuse ("\r 2h" is not a duration), and a value may hold any character.
  return oneLine(path.length === 0 ? `${source}: ${message}` : `${source}: ${dottedPath(path)}: ${message}`);
}

function dottedPath(path: PropertyKey[]): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const key = pathKey(String(segment));
      return i === 0 || key.startsWith('[') ? key : `.${key}`;
    })
    .join('');
}

/** Plain keys as-is; keys with dots, spaces or other punctuation quoted, so the path stays unambiguous. */
function pathKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : `[${JSON.stringify(key)}]`;
}
