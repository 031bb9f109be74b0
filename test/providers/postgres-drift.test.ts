/**
 * `PostgresRoleProvider.listGranted` against the real local server: what drift detection sees is exactly the
 * memberships of the given roles whose grantor is the bot's own role. Roles are cluster-global and other
 * test files share the server, so every name carries a random suffix.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresRoleProvider } from '../../src/providers/postgres-role.js';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { ADMIN_URL, uniqueSuffix } from '../support/env.js';

const sfx = uniqueSuffix();
const BOT = `bot_${sfx}`;
const ALICE = `alice_${sfx}`;
const BOB = `bob_${sfx}`;
const CAROL = `carol_${sfx}`;
const APP_RW = `app_rw_${sfx}`;
const APP_RO = `app_ro_${sfx}`;
const OTHER = `other_${sfx}`;

function urlAs(user: string): string {
  const url = new URL(ADMIN_URL);
  url.username = encodeURIComponent(user);
  return url.toString();
}

let admin: postgres.Sql;
let bot: PostgresRoleProvider;

async function ddl(template: string, ...names: string[]): Promise<void> {
  const [row] = await admin<{ stmt: string }[]>`SELECT format(${template}::text, VARIADIC ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(names)}::text::jsonb))) AS stmt`;
  await admin.unsafe(row!.stmt);
}

beforeAll(async () => {
  admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  await ddl('CREATE ROLE %I LOGIN', BOT);
  for (const principal of [ALICE, BOB, CAROL]) await ddl('CREATE ROLE %I LOGIN', principal);
  for (const role of [APP_RW, APP_RO, OTHER]) {
    await ddl('CREATE ROLE %I NOLOGIN', role);
    await ddl('GRANT %I TO %I WITH ADMIN OPTION', role, BOT);
  }
  await ddl('GRANT pg_signal_backend TO %I', BOT);
  bot = new PostgresRoleProvider({ url: urlAs(BOT) });
});

afterAll(async () => {
  await bot?.close();
  if (!admin) return;
  for (const role of [ALICE, BOB, CAROL, APP_RW, APP_RO, OTHER, BOT]) await ddl('DROP ROLE IF EXISTS %I', role);
  await admin.end();
});

const t = (principal: string, grants: string[]) => ({ requestId: 'req_drift', principal, grants, expiresAt: new Date(Date.now() + 3_600_000) });

describe('PostgresRoleProvider.listGranted', () => {
  it('lists a membership the bot granted outside any request, and none the superuser granted', async () => {
    await bot.grant(t(ALICE, [APP_RW]));
    await ddl('GRANT %I TO %I', APP_RO, BOB); // a DBA's standing grant
    await bot.grant(t(CAROL, [OTHER])); // the bot's, but not a role this resource grants

    // The bot's own ADMIN OPTION memberships (granted by the superuser) are not listed either.
    expect(await bot.listGranted([APP_RW, APP_RO])).toEqual([{ principal: ALICE, grant: APP_RW, requestId: null }]);
  });

  it('lists nothing once the bot revoked it, and nothing for no roles', async () => {
    await bot.revoke(t(ALICE, [APP_RW]));

    expect(await bot.listGranted([APP_RW, APP_RO])).toEqual([]);
    expect(await bot.listGranted([])).toEqual([]);
  });

  it('a membership a DBA granted too is the bot’s only where PostgreSQL keeps one per grantor (16+)', async () => {
    await ddl('GRANT %I TO %I', APP_RW, CAROL);
    await bot.grant(t(CAROL, [APP_RW]));
    const [server] = await admin<{ version: number }[]>`SELECT current_setting('server_version_num')::int AS version`;

    // 15 and older: one membership, whose grantor stays the first one (the DBA). 16+: the bot's own row.
    const expected = server!.version >= 160_000 ? [{ principal: CAROL, grant: APP_RW, requestId: null }] : [];
    expect(await bot.listGranted([APP_RW])).toEqual(expected);
  });

  it('refuses a superuser bot, whose grants cannot be told from a DBA’s', async () => {
    const superuser = new PostgresRoleProvider({ url: ADMIN_URL });
    try {
      const listing = superuser.listGranted([APP_RO]);
      await expect(listing).rejects.toBeInstanceOf(PermanentProviderError);
      await expect(listing).rejects.toThrow(/superuser/);
    } finally {
      await superuser.close();
    }
  });
});
