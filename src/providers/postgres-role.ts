/**
 * PostgreSQL "membership" provider: grants an existing role (`app_rw`) to an existing login role (the
 * principal, who signs in with SSO, IAM or a certificate) and revokes it again.
 *
 * The bot logs in as a non-superuser with ADMIN OPTION on each grantable role and membership in
 * `pg_signal_backend`; nothing here needs more. The connection URL is a secret: no error, log line or thrown
 * text built here contains it, its password, or the host (see `describePgError`).
 *
 * `mode: login` (an ephemeral login role per grant, `jit_<request id>`, like Vault's dynamic credentials) is
 * the same class with `mode: 'login'`: see `postgres-role/login.ts` and `postgres-login.ts`. It needs CREATEROLE
 * too, and its `VALID UNTIL` is a second lock on new logins.
 *
 * Left out on purpose: an in-database expiry sweeper (pg_cron). Membership has no native expiry in
 * PostgreSQL, so in `mode: membership` our own revoke job and sweeper are the only lock.
 *
 * Where things are (src/providers/postgres-role/):
 * - provider.ts: the provider: held, grant and revoke (`mode: membership`), and the login's credentials
 * - login.ts: `mode: login`, the grant's own login role created, renewed and dropped
 * - drift.ts: `listGranted`, every membership the bot granted that is still in place
 * - check.ts: the read-only `accessbot provider check`
 * - transaction.ts: the bounded transaction (lock_timeout, statement_timeout) every role change runs in
 * - sql.ts: role names checked, statements quoted by the server, list parameters
 * - errors.ts: driver errors as safe text, permanent or retryable
 * - settings.ts: the `provider: postgres` settings and the provider definition
 */
export { PostgresRoleProvider, type PostgresRoleProviderOptions } from './postgres-role/provider.js';
export { describePgError } from './postgres-role/errors.js';
export { postgresProvider } from './postgres-role/settings.js';
