/**
 * Names: the per-account bundle role and expiry event, the account as SQL, identifiers quoted whole, and the
 * checks every name passes before it reaches the server.
 */
import { createHash } from 'node:crypto';
import mysql from 'mysql2/promise';
import { PermanentProviderError } from '../../use-cases/ports.js';

/** mysql.global_priv / roles_mapping store names as CHAR(128) utf8mb3. */
const MAX_NAME_CHARS = 128;
export const MAX_HOST_CHARS = 255;

/** An identifier, quoted whole: `??` would split `a.b` into a qualified name. */
export function id(name: string): ReturnType<typeof mysql.raw> {
  return mysql.raw(mysql.escapeId(name, true));
}

/** `jit_<up to 24 safe characters of the user>_<16 hex of sha256(user@host)>`: deterministic, at most 45 characters. */
export function bundleName(principal: string, host: string): string {
  return `jit_${slug(principal)}_${digest(principal, host)}`;
}

/** The per-account expiry event: at most 52 of the 64 characters an event name may have. */
export function expiryEventName(principal: string, host: string): string {
  return `jit_expire_${slug(principal)}_${digest(principal, host)}`;
}

function slug(principal: string): string {
  return principal.replace(/[^A-Za-z0-9_]/g, '').slice(0, 24);
}

function digest(principal: string, host: string): string {
  return createHash('sha256').update(`${principal}\0${host}`).digest('hex').slice(0, 16);
}

/**
 * The server stores names as utf8mb3 CHAR(128): a 4-byte character is silently stored as `?` (so two
 * principals would share one account) and trailing spaces are dropped; both are refused here.
 */
export function checkNames(principal: string, grants: string[]): void {
  for (const name of [principal, ...grants]) {
    if (!validName(name, MAX_NAME_CHARS)) {
      throw new PermanentProviderError(
        `invalid MariaDB name "${name}": must be 1 to ${MAX_NAME_CHARS} characters, without NUL, trailing spaces or characters outside the Basic Multilingual Plane`,
      );
    }
  }
}

export function checkHost(host: string): void {
  if (!validName(host, MAX_HOST_CHARS)) throw new Error(`invalid account host "${host}"`);
}

export function validName(name: string, max: number): boolean {
  return name.length > 0 && name.length <= max && !/[\u0000\uD800-\uDFFF]/.test(name) && !name.endsWith(' ');
}

/** The account as SQL shows it, `'alice'@'%'`: for messages and log lines. */
export function accountName(principal: string, host: string): string {
  return `'${principal}'@'${host}'`;
}

export function quoteList(names: string[]): string {
  return names.map((name) => `"${name}"`).join(', ');
}
