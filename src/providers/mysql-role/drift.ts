/** Drift detection for the mysql provider: the roles in the bot's bundle roles that are still in place. */
import type { GrantedObject } from '../../use-cases/ports.js';
import { providerError } from './errors.js';
import { bundleName, checkNames, quoteList } from './names.js';
import { select, type MysqlSessions } from './session.js';

/** Every bundle name starts so (`bundleName`); `\_` is a literal underscore in LIKE. */
const BUNDLE_PATTERN = 'jit\\_%';

/**
 * Drift detection (read-only): each role of `grants` that is in the bundle role of an account of `host`,
 * i.e. what the bot granted and nobody has revoked. Only the bundles are the bot's: a role whose name is
 * exactly `bundleName(user, host)` of an existing account `'user'@'host'` (other names, even `jit_…`, are
 * not listed). A role granted to the account directly or through any other role (a DBA's grant, which
 * `held` counts and the use cases record as held before, so the bot never adds it to the bundle) is never
 * listed. The membership is shared by every grant of that role, so `requestId` is null: the use case weighs
 * it against the records, and `revoke` of that principal and role takes it out of the bundle only.
 *
 * Not listed: the bundle's own membership and default role on the account (they give nothing without a role
 * in the bundle, and a later grant reuses them), the expiry event (it takes access away, never gives it), and
 * a bundle whose account was dropped (the account's name cannot be recovered from the hash, and with the
 * account gone nobody can log in with it).
 */
export async function listMysqlGranted(sessions: MysqlSessions, host: string, grants: string[]): Promise<GrantedObject[]> {
  for (const grant of grants) checkNames(grant, []);
  if (grants.length === 0) return [];
  let read: { bundled: { bundle: string; role: string }[]; accounts: { principal: string }[] };
  try {
    read = await sessions.run(async (c) => {
      const bundled = await select<{ bundle: string; role: string }>(
        c,
        `SELECT m.User AS bundle, m.Role AS role
         FROM mysql.roles_mapping m
         JOIN mysql.global_priv r ON r.User = m.User AND r.Host = ''
         WHERE m.Host = '' AND m.User LIKE ? AND m.Role IN (?) AND JSON_CONTAINS(r.Priv, 'true', '$.is_role') = 1`,
        [BUNDLE_PATTERN, grants],
      );
      if (bundled.length === 0) return { bundled, accounts: [] };
      // The bundle name is a one-way hash of the account: derived for each account of this host, then matched.
      const accounts = await select<{ principal: string }>(c, 'SELECT User AS principal FROM mysql.global_priv WHERE Host = ?', [host]);
      return { bundled, accounts };
    });
  } catch (error) {
    throw providerError(error, `cannot list the roles ${quoteList(grants)} granted by the bot`);
  }
  const principalOf = new Map<string, string>();
  for (const { principal } of read.accounts) principalOf.set(bundleName(principal, host), principal);
  const found: GrantedObject[] = [];
  for (const { bundle, role } of read.bundled) {
    const principal = principalOf.get(bundle);
    if (principal !== undefined && grants.includes(role)) found.push({ principal, grant: role, requestId: null });
  }
  return found.sort((a, b) => compare(a.grant, b.grant) || compare(a.principal, b.principal));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
