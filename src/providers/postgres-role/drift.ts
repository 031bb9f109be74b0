/** Drift detection for the postgres provider: the memberships the bot granted that are still in place. */
import { PermanentProviderError, type GrantedObject } from '../../use-cases/ports.js';
import { requestIdOfLoginRole } from '../postgres-login.js';
import { checkIdentifiers, jsonList, quoteList } from './sql.js';
import type { PgTarget } from './transaction.js';

/**
 * Drift detection (read-only): the memberships of `grants` whose grantor is the bot's own role, i.e. what the
 * bot granted and nobody has revoked. A membership has no request name, so `requestId` is null: the use case
 * weighs it against the records. A membership a DBA granted (another grantor) is never listed; on PostgreSQL
 * 15 and older a membership keeps the grantor of its first GRANT, so one the bot granted on top of a DBA's is
 * the DBA's. A superuser bot is refused: it is often the very role DBAs use, and PostgreSQL 16+ records every
 * superuser's grant as the bootstrap superuser's, so its own grants cannot be told from anyone else's.
 */
export async function listPostgresGranted(pg: PgTarget, mode: 'membership' | 'login', grants: string[]): Promise<GrantedObject[]> {
  for (const grant of grants) checkIdentifiers(grant, []);
  if (grants.length === 0) return [];
  const context = `cannot list the memberships of ${quoteList(grants)} granted by the bot`;
  let rows: { principal: string; grant: string }[];
  try {
    const [bot] = await pg.bounded((tx) => tx<{ superuser: boolean }[]>`SELECT rolsuper AS superuser FROM pg_roles WHERE rolname = current_user`);
    if (bot?.superuser !== false) {
      throw new PermanentProviderError(
        `${context}: the bot is a superuser, whose grants cannot be told from other superusers'; use a dedicated role with ADMIN OPTION`,
      );
    }
    rows = await pg.bounded((tx) => tx<{ principal: string; grant: string }[]>`
      SELECT DISTINCT u.rolname AS principal, r.rolname AS grant
      FROM pg_auth_members m
      JOIN pg_roles r ON r.oid = m.roleid
      JOIN pg_roles u ON u.oid = m.member
      WHERE m.grantor = (SELECT oid FROM pg_roles WHERE rolname = current_user)
        AND r.rolname IN (SELECT jsonb_array_elements_text(${jsonList(grants)}::text::jsonb))
      ORDER BY 2, 1`);
  } catch (error) {
    throw pg.error(error, context);
  }
  if (mode === 'login') {
    // A login role is named after its request, which decides; roles named otherwise are not ours to judge.
    return rows.flatMap(({ principal, grant }) => {
      const requestId = requestIdOfLoginRole(principal);
      return requestId === null ? [] : [{ principal, grant, requestId }];
    });
  }
  return rows.map(({ principal, grant }) => ({ principal, grant, requestId: null }));
}
