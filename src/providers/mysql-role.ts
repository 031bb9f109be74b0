/**
 * MariaDB role provider (`provider: mysql`): makes existing roles (`app_rw`) active for an existing account
 * (the principal `'alice'@'%'`, who signs in with a password, PAM or GSSAPI) and takes them back.
 *
 * MariaDB (10.11) activates ONE role per session: `SET DEFAULT ROLE` and `SET ROLE` take a single role, and
 * a role reached only through another role cannot be `SET ROLE`d. So a grant of several roles goes through a
 * per-account bundle role, `jit_<user>_<hash of user@host>`, owned by the bot: the requested roles are granted
 * to the bundle, the bundle to the account, and the bundle becomes the account's default role, so a fresh
 * login has every granted role active. Grants of the same role share the bundle's membership (like a
 * PostgreSQL membership, not a per-grant object); the use cases never revoke what another grant covers.
 *
 * revoke takes the roles out of the bundle (table and database privileges go at once, even in open sessions),
 * then kills every session of the account's user: global privileges, and a role a session activated itself
 * (granted directly, then `SET ROLE`), survive a REVOKE until the session ends. When the bundle is empty it is
 * dropped; the account keeps the bundle as its (dangling, harmless) default role, which a later grant revives.
 *
 * `expiry_event_schema` adds a second, target-side lock: one event per account, `jit_expire_<user>_<hash>`,
 * scheduled at the latest `expiresAt` of its grants, that drops the bundle and kills the user's sessions, so
 * access ends even if the bot is down. It is best-effort: it needs `event_scheduler=ON` (MariaDB's default is
 * OFF) and `EVENT` on the schema; when either is missing, grant still succeeds and a warning (names only) is
 * logged. It is per account, not per request, because the membership is shared: a per-request event would
 * take back a role that a longer, overlapping grant still covers.
 *
 * The bot account needs: each grantable role `WITH ADMIN OPTION`; `CREATE USER` (CREATE/DROP ROLE of the
 * bundles); `UPDATE ON mysql.*` (MariaDB's requirement for `SET DEFAULT ROLE … FOR` another account; a
 * table-level grant is not enough); `SELECT ON mysql.roles_mapping` and `SELECT ON mysql.global_priv`;
 * `PROCESS` and `CONNECTION ADMIN` (see and kill other users' sessions); `EVENT ON <expiry_event_schema>.*`.
 * That is close to an administrator: keep the bot's password in a secret store.
 *
 * The connection URL is a secret: no error, log line or thrown text built here contains it, its password, or
 * the host (see `describeMysqlError`). Names are escaped on the client (`escapeId`/`escape`) under a sql_mode
 * pinned per session (no NO_BACKSLASH_ESCAPES), never concatenated raw.
 *
 * Left out on purpose: MySQL 8 (roles work differently there: `mysql.role_edges`, several default roles,
 * `SET DEFAULT ROLE … TO`); it is refused at first use rather than half supported. Temporary users (CREATE
 * USER per request). A principal's other default role is never replaced: see `grant`.
 *
 * Where things are (src/providers/mysql-role/):
 * - provider.ts: the provider: held, grant and revoke
 * - drift.ts: `listGranted`, every role still in a bundle role of ours (drift detection)
 * - names.ts: the bundle role and expiry event names derived from an account, and the name checks
 * - session.ts: the connection URL, the pooled sessions with their pinned settings and timeouts, the server check
 * - events.ts: the user's sessions killed, and the per-account expiry event that does the same target-side
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: driver errors as safe text, permanent or retryable
 * - settings.ts: the `provider: mysql` settings and the provider definition
 */
export { MysqlRoleProvider, type MysqlRoleProviderOptions } from './mysql-role/provider.js';
export { bundleName, expiryEventName } from './mysql-role/names.js';
export { describeMysqlError } from './mysql-role/errors.js';
export { mysqlProvider } from './mysql-role/settings.js';
