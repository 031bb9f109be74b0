/**
 * MariaDB driver errors as provider errors: permanent (retrying cannot fix them) or retryable, and as text
 * that never contains the connection URL, its password or the host.
 */
import { PermanentProviderError } from '../../use-cases/ports.js';

/** Server error numbers that retrying cannot fix. */
const PERMANENT_ERRNOS = new Set([
  1044, // ER_DBACCESS_DENIED_ERROR: e.g. no UPDATE on mysql.* for SET DEFAULT ROLE
  1133, // ER_PASSWORD_NO_MATCH: the account does not exist
  1142, // ER_TABLEACCESS_DENIED_ERROR: e.g. no SELECT on mysql.roles_mapping
  1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR: e.g. no CREATE USER, PROCESS or CONNECTION ADMIN
  1396, // ER_CANNOT_USER: CREATE/DROP ROLE refused
  1470, // ER_WRONG_STRING_LENGTH: a name over 128 characters
  1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR: no ADMIN OPTION on the role
  1959, // ER_INVALID_ROLE: the role does not exist
]);
export const ER_INVALID_ROLE = 1959;
/** "Cannot revoke role": not granted, or the grantee does not exist. */
export const ER_CANNOT_REVOKE_ROLE = 1962;
export const ER_NO_SUCH_THREAD = 1094;
/**
 * A statement the server gave up on: ER_LOCK_WAIT_TIMEOUT (`lock_wait_timeout` on a metadata lock,
 * `innodb_lock_wait_timeout` on a row lock) and ER_STATEMENT_TIMEOUT (`max_statement_time`, which also ends a
 * REVOKE waiting on a table lock, e.g. `LOCK TABLES mysql.roles_mapping WRITE`, or on FLUSH TABLES WITH READ
 * LOCK). Retryable, like every errno not listed above; named here for the message.
 */
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_STATEMENT_TIMEOUT = 1969;

/**
 * A driver error as text that is safe to log and show: the server's error number, SQLSTATE and message.
 * Socket and driver errors (ECONNREFUSED, ETIMEDOUT, …) name the host and port in their message, so only
 * their code is kept.
 */
export function describeMysqlError(error: unknown): string {
  const e = error as { errno?: unknown; sqlState?: unknown; sqlMessage?: unknown; code?: unknown } | null;
  if (typeof e?.sqlMessage === 'string' && typeof e.errno === 'number') {
    return `MariaDB error ${e.errno}${typeof e.sqlState === 'string' ? ` (${e.sqlState})` : ''}: ${e.sqlMessage}`;
  }
  if (typeof e?.code === 'string' && /^[A-Z0-9_]+$/.test(e.code)) return `driver error ${e.code}`;
  return `unexpected driver error (${error instanceof Error ? error.name : typeof error})`;
}

export function serverErrno(error: unknown): number | undefined {
  const e = error as { errno?: unknown; sqlMessage?: unknown } | null;
  return typeof e?.sqlMessage === 'string' && typeof e.errno === 'number' ? e.errno : undefined;
}

/** Never passes the driver error on as `cause`: its properties may hold connection details. */
export function providerError(error: unknown, context: string): Error {
  if (error instanceof PermanentProviderError) return error;
  const message = `${context}: ${describeMysqlError(error)}`;
  const errno = serverErrno(error);
  return errno !== undefined && PERMANENT_ERRNOS.has(errno) ? new PermanentProviderError(message) : new Error(message);
}
