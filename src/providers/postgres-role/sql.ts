/**
 * The SQL helpers every part of the provider shares: role names checked before any statement, utility
 * statements quoted by the server, and list parameters.
 */
import type postgres from 'postgres';
import { PermanentProviderError } from '../../use-cases/ports.js';

/** PostgreSQL silently truncates longer identifiers, so a longer name would grant a different role. */
const MAX_IDENTIFIER_BYTES = 63;
/** How long revoke waits for each terminated session to exit (PostgreSQL 14+ `pg_terminate_backend(pid, ms)`). */
export const TERMINATE_WAIT_MS = 5_000;

/**
 * Utility statements take no bind parameters, so the server quotes the identifiers with `format('%I')` and
 * we run the text it returns. Identifiers are never concatenated here.
 */
export async function statements(sql: postgres.Sql | postgres.TransactionSql, template: string, roles: string[], principal: string): Promise<string[]> {
  if (roles.length === 0) return [];
  const rows = await sql<{ stmt: string }[]>`
    SELECT format(${template}::text, role, ${principal}::text) AS stmt
    FROM jsonb_array_elements_text(${jsonList(roles)}::text::jsonb) WITH ORDINALITY AS t(role, n)
    ORDER BY n`;
  return rows.map((row) => row.stmt);
}

/**
 * A list parameter as JSON text, read with `$n::text::jsonb`. postgres.js 3.4.9 sends `sql.array([x])` as
 * the bare text `x` on a fresh connection (`malformed array literal`), and JSON-encodes a string bound
 * straight to `jsonb` a second time; a `text` parameter is sent as is.
 */
export function jsonList(names: string[]): string {
  return JSON.stringify(names);
}

export function checkIdentifiers(principal: string, grants: string[]): void {
  for (const name of [principal, ...grants]) {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes === 0 || bytes > MAX_IDENTIFIER_BYTES || name.includes('\0')) {
      throw new PermanentProviderError(`invalid PostgreSQL role name "${name}": must be 1 to ${MAX_IDENTIFIER_BYTES} bytes without NUL`);
    }
  }
}

export function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
