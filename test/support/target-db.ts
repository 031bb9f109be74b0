/**
 * A real target PostgreSQL database for end-to-end tests: app roles, a requester principal that can log in,
 * and a non-superuser bot with ADMIN OPTION on the app roles (how the bot is set up in production).
 * Roles are cluster-global, so every name carries the file's unique suffix.
 */
import postgres from 'postgres';
import { ADMIN_URL } from './env.js';

export interface TargetDbOptions {
  /** A superuser URL of another cluster (one that checks passwords); the shared test server by default. */
  adminUrl?: string;
  /** Give the bot CREATEROLE, which `mode: login` needs. */
  createRole?: boolean;
}

export interface TargetDb {
  database: string;
  /** The bot's connection URL. It carries a password (trust auth ignores it) so tests can prove it never leaks. */
  botUrl: string;
  botPassword: string;
  roles: { read: string; write: string };
  principal: string;
  hasRole(principal: string, role: string): Promise<boolean>;
  sql: postgres.Sql;
  drop(): Promise<void>;
}

export async function createTargetDb(sfx: string, principal: string, options: TargetDbOptions = {}): Promise<TargetDb> {
  const adminUrl = options.adminUrl ?? ADMIN_URL;
  const urlFor = (db: string): string => {
    const url = new URL(adminUrl);
    url.pathname = `/${db}`;
    return url.toString();
  };
  const database = `target_${sfx}`;
  const bot = `bot_${sfx}`;
  const roles = { read: `app_read_${sfx}`, write: `app_write_${sfx}` };
  const botPassword = `tgt-pw-${sfx}-s3cr3t`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`CREATE DATABASE "${database}"`);
  for (const r of Object.values(roles)) await admin.unsafe(`CREATE ROLE "${r}" NOLOGIN`);
  await admin.unsafe(`CREATE ROLE "${principal}" LOGIN`);
  await admin.unsafe(`CREATE ROLE "${bot}" LOGIN${options.createRole ? ' CREATEROLE' : ''} PASSWORD '${botPassword}'`);
  for (const r of Object.values(roles)) await admin.unsafe(`GRANT "${r}" TO "${bot}" WITH ADMIN OPTION`);
  await admin.unsafe(`GRANT pg_signal_backend TO "${bot}"`);
  const url = new URL(urlFor(database));
  url.username = bot;
  url.password = botPassword;
  return {
    database,
    botUrl: url.toString(),
    botPassword,
    roles,
    principal,
    sql: admin,
    async hasRole(p: string, role: string) {
      const [row] = await admin`SELECT pg_has_role(${p}, ${role}, 'MEMBER') AS member`;
      return row?.member === true;
    },
    async drop() {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
      for (const r of [...Object.values(roles), principal, bot]) {
        await admin.unsafe(`DROP ROLE IF EXISTS "${r}"`).catch(() => undefined);
      }
      await admin.end();
    },
  };
}
