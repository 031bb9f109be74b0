/**
 * What the providers' `check` methods share: a report that collects findings in order, and small helpers.
 * A check reads, never writes; each finding is one line a person can act on, built from names and the
 * target's own (already sanitised) error text, never from a connection string or a credential.
 */
import type { ProviderCheck } from '../use-cases/ports.js';

export type CheckLevel = ProviderCheck['findings'][number]['level'];

export class CheckReport {
  readonly #findings: ProviderCheck['findings'] = [];

  ok(what: string): this {
    return this.add('ok', what);
  }

  warn(what: string): this {
    return this.add('warn', what);
  }

  fail(what: string): this {
    return this.add('fail', what);
  }

  add(level: CheckLevel, what: string): this {
    this.#findings.push({ level, what: oneLine(what) });
    return this;
  }

  result(): ProviderCheck {
    return { ok: !this.#findings.some((f) => f.level === 'fail'), findings: [...this.#findings] };
  }
}

/** Findings print one per line: newlines in a server's message would break that. */
function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export function uniqueGrants(grants: readonly string[]): string[] {
  return [...new Set(grants)];
}

/** `a, b and c` for messages. */
export function listText(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

// ---- MariaDB: the bot's own grants, from `SHOW GRANTS` ----

/** The privileges `SHOW GRANTS` lists for this session (the account and its active role), by level. */
export interface MariadbGrants {
  global: Set<string>;
  /** Schema name → privileges on `schema`.*. */
  schemas: Map<string, Set<string>>;
  /** `schema.table` → privileges on that table. */
  tables: Map<string, Set<string>>;
}

const QUOTED = '`(?:[^`]|``)*`';
const OBJECT = new RegExp(`^(\\*|${QUOTED})\\.(\\*|${QUOTED}) TO `);

/**
 * Parses `GRANT <privileges> ON <object> TO …` lines. Role grants (`GRANT \`r\` TO …`), routine grants and
 * anything else are skipped. The lines themselves are never shown: the account's line carries its password
 * hash.
 */
export function parseMariadbGrants(lines: readonly string[]): MariadbGrants {
  const grants: MariadbGrants = { global: new Set(), schemas: new Map(), tables: new Map() };
  for (const line of lines) {
    if (!line.startsWith('GRANT ') || line.startsWith('GRANT `')) continue;
    const on = line.indexOf(' ON ');
    if (on < 0) continue;
    const match = OBJECT.exec(line.slice(on + 4));
    if (!match) continue;
    const privileges = splitPrivileges(line.slice(6, on));
    const [schema, table] = [unquote(match[1]!), unquote(match[2]!)];
    let into: Set<string>;
    if (schema === '*') into = grants.global;
    else if (table === '*') into = getOrAdd(grants.schemas, schema);
    else into = getOrAdd(grants.tables, `${schema}.${table}`);
    for (const p of privileges) into.add(p);
  }
  return grants;
}

/** Whether the session holds `privilege` globally, on `schema`.*, or (given a table) on that table. */
export function hasMariadbPrivilege(grants: MariadbGrants, privilege: string, schema?: string, table?: string): boolean {
  const covers = (set: Set<string> | undefined): boolean =>
    set !== undefined && (set.has(privilege) || set.has('ALL PRIVILEGES') || set.has('ALL'));
  // SUPER still includes CONNECTION ADMIN on MariaDB 10.11 (a SUPER-only account can KILL other users).
  if (covers(grants.global) || (privilege === 'CONNECTION ADMIN' && grants.global.has('SUPER'))) return true;
  if (schema === undefined) return false;
  if (covers(grants.schemas.get(schema))) return true;
  return table !== undefined && covers(grants.tables.get(`${schema}.${table}`));
}

function splitPrivileges(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    if (ch === ',' && depth === 0) {
      out.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  out.push(current);
  // Column privileges (`SELECT (a, b)`) count as table privileges for nothing we check: drop them.
  return out.map((p) => p.trim().toUpperCase()).filter((p) => p !== '' && !p.includes('('));
}

function unquote(token: string): string {
  return token === '*' ? '*' : token.slice(1, -1).replace(/``/g, '`');
}

function getOrAdd(map: Map<string, Set<string>>, key: string): Set<string> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}

/** Seconds in an ISO 8601 duration of hours, minutes and seconds (`PT1H30M`); undefined for anything else. */
export function isoDurationSeconds(text: string): number | undefined {
  const m = /^PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?$/.exec(text);
  if (!m || text === 'PT') return undefined;
  return Number(m[1] ?? 0) * 3_600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

/** AWS error codes (without `Exception`) that mean the credentials themselves were refused. */
export const AWS_CREDENTIAL_ERRORS: ReadonlySet<string> = new Set([
  'UnrecognizedClient',
  'InvalidClientTokenId',
  'InvalidSignature',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'InvalidAccessKeyId',
]);

// ---- Azure: the caller's permissions, as `Microsoft.Authorization/permissions` lists them ----

/**
 * Whether the permissions allow `action`: some entry's `actions` match it and none of that entry's
 * `notActions` do (Azure RBAC's rule; matching ignores case, `*` is a wildcard).
 */
export function azureActionAllowed(permissions: readonly { actions?: string[]; notActions?: string[] }[], action: string): boolean {
  const matches = (pattern: string): boolean =>
    new RegExp(`^${pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, '\\$&')).join('.*')}$`, 'i').test(action);
  return permissions.some((p) => (p.actions ?? []).some(matches) && !(p.notActions ?? []).some(matches));
}
