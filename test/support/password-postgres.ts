/**
 * A private PostgreSQL cluster that checks passwords. The shared test server trusts every connection from
 * 127.0.0.1, so a login there proves nothing about a password, and VALID UNTIL is never applied. This one
 * trusts only its superuser `postgres` (the tests' admin connection) and asks every other role for a
 * SCRAM-SHA-256 password, as a production server does. It logs every statement (with bind parameters) to a
 * file, so a test can prove what never reached the server. Started on a free port, deleted by `destroy()`.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const PG_BIN = process.env.TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PasswordPostgres {
  /** The superuser's URL for a database (trusted). */
  adminUrlFor(database: string): string;
  /** A URL for `user` with `password` (SCRAM). */
  urlAs(database: string, user: string, password: string): string;
  /** Everything the server logged so far (statements with their parameters included). */
  serverLog(): string;
  destroy(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const asPostgres = (args: string[]) => run('runuser', ['-u', 'postgres', '--', ...args], { timeout: 60_000 });

export async function startPasswordPostgres(): Promise<PasswordPostgres> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'accessbot-pgpw-'));
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  chownSync(dir, Number(uid.trim()), Number(gid.trim()));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  await asPostgres([`${PG_BIN}/initdb`, '-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  // First match wins: the superuser is trusted, every other role must present its password.
  writeFileSync(
    join(data, 'pg_hba.conf'),
    ['local all all trust', 'host all postgres 127.0.0.1/32 trust', 'host all all 127.0.0.1/32 scram-sha-256', ''].join('\n'),
  );
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c fsync=off',
    '-c password_encryption=scram-sha-256',
    '-c log_statement=all',
    '-c log_parameter_max_length=-1',
  ].join(' ');
  const pgCtl = (...args: string[]) => asPostgres([`${PG_BIN}/pg_ctl`, '-D', data, '-l', log, '-w', '-t', '30', ...args]);
  await pgCtl('-o', options, 'start');
  const base = `127.0.0.1:${port}`;
  return {
    adminUrlFor: (database) => `postgres://postgres@${base}/${database}`,
    urlAs: (database, user, password) => `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${base}/${database}`,
    serverLog: () => {
      try {
        return readFileSync(log, 'utf8');
      } catch {
        return '';
      }
    },
    async destroy() {
      await pgCtl('-m', 'immediate', 'stop').catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
