/**
 * `mode: login`: the grant's own login role, `jit_<request id>`, created (or renewed) in grant and dropped in
 * revoke. The name, the password and its SCRAM verifier come from `../postgres-login.ts`.
 */
import postgres from 'postgres';
import { PermanentProviderError, type GrantTarget } from '../../use-cases/ports.js';
import { derivePassword, loginRoleName, scramVerifier } from '../postgres-login.js';
import { DEPENDENT_OBJECTS, oneLine, UNDEFINED_OBJECT } from './errors.js';
import { checkIdentifiers, jsonList, quoteList, statements, TERMINATE_WAIT_MS } from './sql.js';
import type { PgTarget } from './transaction.js';

/**
 * Creates the grant's login role, `jit_<request id>`: `CREATE ROLE … LOGIN PASSWORD <SCRAM verifier>
 * VALID UNTIL <end> IN ROLE <grants…>`, built by the server with `format()`, plus a comment naming the
 * request and the principal (what a DBA sees next to `jit_…` in `pg_stat_activity` and the server log),
 * in one transaction. When the role exists (a retried job, or an extension with a later `expiresAt`), the
 * same transaction moves `VALID UNTIL` to `expiresAt` and grants any missing membership instead; the
 * password is left as it is (it is the same one). The plaintext password never reaches the server.
 */
export async function grantLogin(pg: PgTarget, passwordKey: string, { requestId, principal, grants, expiresAt }: GrantTarget): Promise<void> {
  const role = loginRoleName(requestId);
  checkIdentifiers(role, grants);
  const until = expiresAt.toISOString();
  const list = jsonList(grants);
  try {
    await pg.bounded(async (tx) => {
      const [found] = await tx<{ one: number }[]>`SELECT 1 AS one FROM pg_roles WHERE rolname = ${role}`;
      if (!found) {
        const verifier = scramVerifier(derivePassword(passwordKey, requestId));
        const [create] = await tx<{ stmt: string }[]>`
          SELECT format('CREATE ROLE %I WITH LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L VALID UNTIL %L',
                        ${role}::text, ${verifier}::text, ${until}::text)
                 || coalesce(' IN ROLE ' || (
                      SELECT string_agg(format('%I', g), ', ' ORDER BY n)
                      FROM jsonb_array_elements_text(${list}::text::jsonb) WITH ORDINALITY AS t(g, n)), '') AS stmt`;
        await tx.unsafe(create!.stmt);
      } else {
        const [alter] = await tx<{ stmt: string }[]>`SELECT format('ALTER ROLE %I VALID UNTIL %L', ${role}::text, ${until}::text) AS stmt`;
        await tx.unsafe(alter!.stmt);
        // Granting a held membership is only a NOTICE.
        for (const stmt of await statements(tx, 'GRANT %I TO %I', grants, role)) await tx.unsafe(stmt);
      }
      const [comment] = await tx<{ stmt: string }[]>`
        SELECT format('COMMENT ON ROLE %I IS %L', ${role}::text, ${`accessbot login for ${principal}, request ${requestId}, until ${until}`}::text) AS stmt`;
      await tx.unsafe(comment!.stmt);
    });
  } catch (error) {
    throw pg.error(error, `cannot create or renew the login role "${role}" in ${quoteList(grants)}`);
  }
}

/**
 * Ends the grant's login role whatever `grants` says (the role is the grant's own): `NOLOGIN` first, so
 * nobody logs in again while the rest runs; then every session of the role is terminated; then `DROP ROLE
 * IF EXISTS`. A role that owns objects or holds privileges on them (a table the requester created) cannot
 * be dropped: the bot does not `REASSIGN OWNED`/`DROP OWNED` (that needs the privileges of the role, i.e.
 * of the data it was granted, and would silently delete or take over the requester's work). It removes
 * the role's memberships instead, so the locked role holds nothing, and refuses with a
 * PermanentProviderError naming the objects; the revoke job keeps retrying and the approvers are alerted,
 * until a DBA moves or drops them. A role that is already gone is success.
 */
export async function revokeLogin(pg: PgTarget, { requestId }: GrantTarget): Promise<void> {
  const role = loginRoleName(requestId);
  checkIdentifiers(role, []);
  try {
    // NOLOGIN commits before the sessions are ended, so nobody logs in again meanwhile.
    const found = await pg.bounded(async (tx) => {
      const [row] = await tx<{ one: number }[]>`SELECT 1 AS one FROM pg_roles WHERE rolname = ${role}`;
      if (!row) return false;
      const [nologin] = await tx<{ stmt: string }[]>`SELECT format('ALTER ROLE %I NOLOGIN', ${role}::text) AS stmt`;
      await tx.unsafe(nologin!.stmt);
      return true;
    });
    if (!found) return;
    await pg.sql`
      SELECT pg_terminate_backend(pid, ${TERMINATE_WAIT_MS}::bigint)
      FROM pg_stat_activity
      WHERE usename = ${role} AND pid <> pg_backend_pid()`;
    await pg.bounded(async (tx) => {
      const [drop] = await tx<{ stmt: string }[]>`SELECT format('DROP ROLE IF EXISTS %I', ${role}::text) AS stmt`;
      await tx.unsafe(drop!.stmt);
    });
  } catch (error) {
    if (error instanceof postgres.PostgresError && error.code === UNDEFINED_OBJECT) return; // dropped meanwhile
    if (!(error instanceof postgres.PostgresError) || error.code !== DEPENDENT_OBJECTS) {
      throw pg.error(error, `cannot drop the login role "${role}"`);
    }
    const objects = oneLine(error.detail ?? 'objects not listed');
    try {
      await pg.bounded(async (tx) => {
        const memberships = await tx<{ stmt: string }[]>`
          SELECT format('REVOKE %I FROM %I', r.rolname, u.rolname) AS stmt
          FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
          WHERE u.rolname = ${role}`;
        for (const { stmt } of memberships) await tx.unsafe(stmt);
      });
    } catch (cleanup) {
      throw pg.error(cleanup, `cannot drop the login role "${role}" (it owns or holds objects: ${objects}), nor revoke its roles`);
    }
    throw new PermanentProviderError(
      `cannot drop the login role "${role}": it owns or holds objects (${objects}). It can no longer log in and holds no role; ` +
        `a DBA must REASSIGN OWNED BY or DROP OWNED BY "${role}" in each database named, then the revoke completes`,
    );
  }
}
