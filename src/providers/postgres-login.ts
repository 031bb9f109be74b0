/**
 * The pure parts of the PostgreSQL ephemeral-login mode (`provider: postgres`, `mode: login`): the login
 * role's name, its password and the SCRAM verifier sent in its place. The SQL is in `postgres-role/login.ts`.
 *
 * Nothing is stored: the name and the password both derive from the request id (the password through an
 * HMAC keyed with the resource's `password_key`), so the grant, an extension, the delivery of the DM and
 * the revoke each recompute what they need. The plaintext password only ever leaves the process in the
 * requester's DM; the target gets a `SCRAM-SHA-256$…` verifier (RFC 5802 / RFC 7677), so the plaintext is
 * in no statement the server may log (`log_statement = ddl`, `pg_stat_statements`).
 */
import { createHash, createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';

/** PostgreSQL's own default (`scram_iterations`, fixed at 4096 before PostgreSQL 16). */
export const SCRAM_ITERATIONS = 4096;
export const PASSWORD_LENGTH = 32;
const MAX_IDENTIFIER_BYTES = 63;
const PREFIX = 'jit_';

/**
 * The login role of a request: `jit_<request id>` when the id is already lower-case words of letters and
 * digits joined by `_` (accessbot's own ids, `req_…`, are), else a readable form of it, `__` and a hash of the
 * exact id, so two ids that differ only in case or punctuation never share a role. Always ≤ 63 bytes.
 */
export function loginRoleName(requestId: string): string {
  if (PLAIN_ID.test(requestId) && PREFIX.length + requestId.length <= MAX_IDENTIFIER_BYTES) return `${PREFIX}${requestId}`;
  // `__` never occurs in a plain id, so a hashed name never equals the plain name of another id.
  const safe = requestId.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const hash = createHash('sha256').update(requestId, 'utf8').digest('hex').slice(0, 12);
  return `${PREFIX}${safe.slice(0, MAX_IDENTIFIER_BYTES - PREFIX.length - hash.length - 2)}__${hash}`;
}

/** Ids used as they are: lower-case letters and digits in `_`-separated words (`req_7k2m9x4q1p`). */
const PLAIN_ID = /^[a-z0-9]+(?:_[a-z0-9]+)*$/;

/** The request id a login role is named after, when the name is the plain form (`jit_<id>`); else null. */
export function requestIdOfLoginRole(role: string): string | null {
  if (!role.startsWith(PREFIX)) return null;
  const id = role.slice(PREFIX.length);
  return PLAIN_ID.test(id) && loginRoleName(id) === role ? id : null;
}

/** HMAC-SHA256(key, request id), base64url, 32 characters (192 bits): the same for every call. */
export function derivePassword(key: string, requestId: string): string {
  return createHmac('sha256', key).update(requestId, 'utf8').digest('base64url').slice(0, PASSWORD_LENGTH);
}

/**
 * The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (what `pg_authid.rolpassword` would hold had
 * the server hashed it): `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, with
 * SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations), StoredKey = SHA256(HMAC(SaltedPassword,
 * "Client Key")), ServerKey = HMAC(SaltedPassword, "Server Key"). `password` must be ASCII (SASLprep leaves
 * it unchanged), which derived passwords are.
 */
export function scramVerifier(password: string, salt: Buffer = randomBytes(16), iterations = SCRAM_ITERATIONS): string {
  if (!/^[\x21-\x7e]+$/.test(password)) throw new Error('scramVerifier: the password must be printable ASCII');
  const salted = pbkdf2Sync(password, salt, iterations, 32, 'sha256');
  const clientKey = createHmac('sha256', salted).update('Client Key').digest();
  const storedKey = createHash('sha256').update(clientKey).digest();
  const serverKey = createHmac('sha256', salted).update('Server Key').digest();
  return `SCRAM-SHA-256$${iterations}:${salt.toString('base64')}$${storedKey.toString('base64')}:${serverKey.toString('base64')}`;
}
