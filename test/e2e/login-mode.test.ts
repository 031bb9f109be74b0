/**
 * `provider: postgres` with `mode: login`, end to end: Alice asks, Bob approves, the bot creates a login role
 * on a target that checks passwords, and Alice's "granted" DM carries a user name and password that really
 * log in. The password is in that one Slack call and nowhere else: no other Slack call, no log line (the app
 * runs at LOG_LEVEL debug, where the Web API client logs request bodies), no table of the app's database,
 * and not in the target server's statement log (it gets a SCRAM verifier). Revoking ends the login.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeSlack } from '../support/fake-slack.js';
import { USERS, eventually, requestIdIn, startHarness, type Harness } from '../support/harness.js';
import { startPasswordPostgres, type PasswordPostgres } from '../support/password-postgres.js';

const KEY_ENV = 'LOGIN_PASSWORD_KEY';
const KEY = `e2e-login-key-${Math.random().toString(36).slice(2)}-0123456789abcdef`;

let pg: PasswordPostgres;
let h: Harness;
let targetDb: postgres.Sql;

beforeAll(async () => {
  pg = await startPasswordPostgres();
  h = await startHarness('login', {
    target: { adminUrl: pg.adminUrlFor('postgres'), createRole: true },
    resourceSettings: `    mode: login\n    password_key: { env: ${KEY_ENV} }`,
    extraEnv: { [KEY_ENV]: KEY },
  });
  targetDb = postgres(pg.adminUrlFor(h.target.database), { max: 1, onnotice: () => {} });
  await targetDb`CREATE TABLE ledger (v text)`;
  await targetDb`INSERT INTO ledger VALUES ('only-readers')`;
  await targetDb`REVOKE ALL ON ledger FROM PUBLIC`;
  await targetDb.unsafe(`GRANT SELECT ON ledger TO "${h.target.roles.read}"`);
}, 90_000);

afterAll(async () => {
  await targetDb?.end();
  await h?.close();
  await pg?.destroy();
});

const dmsTo = (user: string, id: string) =>
  h.slack.callsTo('chat.postMessage').filter((c) => c.args.channel === user && JSON.stringify(c.args).includes(id));

/** The `user` and `password` lines of the DM's code block. */
function credentialsIn(blocks: Record<string, unknown>[]): { user: string; password: string } {
  const text = JSON.stringify(blocks);
  const user = /user +(jit_[a-z0-9_]+)/.exec(text)?.[1];
  const password = /password +([A-Za-z0-9_-]{32})/.exec(text)?.[1];
  if (!user || !password) throw new Error(`no credentials in ${text}`);
  return { user, password };
}

async function readAs(user: string, password: string): Promise<string> {
  const session = postgres(pg.urlAs(h.target.database, user, password), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await session<{ v: string }[]>`SELECT v FROM ledger`;
    return `read ${row?.v}`;
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  } finally {
    await session.end({ timeout: 1 });
  }
}

describe('mode: login', () => {
  it('DMs a login that works, once, and the password appears nowhere else; revoke ends it', async () => {
    const res = await h.command('request prod-db read 1h INC-77 read the ledger');
    const id = requestIdIn(res.body);
    expect(await h.click('access_approve', id, USERS.bob)).toBe(200);

    await eventually(() => expect(dmsTo(USERS.alice, id)).toHaveLength(1));
    const dm = dmsTo(USERS.alice, id)[0]!;
    const { user, password } = credentialsIn(FakeSlack.blocks(dm));
    expect(user).toBe(`jit_${id}`);
    expect(String(dm.args.text)).not.toContain(password); // the notification preview shows `text`
    expect(JSON.stringify(FakeSlack.blocks(dm))).toMatch(/do not share/i);

    // The credentials really log in, and read what the role grants.
    expect(await readAs(user, password)).toBe('read only-readers');
    expect(await readAs(user, `${password.slice(0, -1)}${password.endsWith("x") ? "y" : "x"}`)).toBe("28P01");

    // Exactly one Slack call carries the password: that DM, to Alice.
    const carrying = h.slack.calls.filter((c) => JSON.stringify(c).includes(password));
    expect(carrying).toEqual([dm]);
    expect(dm.args.channel).toBe(USERS.alice);
    expect(JSON.stringify(h.slack.responses)).not.toContain(password);

    // No log line, although debug logging ran (and dropped the Web API client's request bodies).
    const logs = h.logs();
    expect(logs).not.toContain(password);
    expect(logs).toContain('"level":20');
    expect(logs).toContain('http request body: [omitted');
    expect(logs).not.toContain(KEY);

    // No row of the app's database: requests, outbox, audit.
    for (const table of ['access_requests', 'notifications', 'audit_events', 'grants']) {
      const rows = await h.sql.unsafe(`SELECT t::text AS row FROM ${table} t`);
      expect(rows.length, table).toBeGreaterThan(0);
      expect(rows.map((r) => String(r.row)).join('\n'), table).not.toContain(password);
    }
    // The target's statement log has the verifier, never the password.
    expect(pg.serverLog()).toContain('SCRAM-SHA-256$');
    expect(pg.serverLog()).not.toContain(password);

    // Giving it back drops the login.
    expect(await h.clickRevoke(id, USERS.alice)).toBe(200);
    await eventually(async () => {
      const [row] = await h.sql`SELECT status FROM access_requests WHERE id = ${id}`;
      expect(row?.status).toBe('revoked');
    });
    expect(await readAs(user, password)).toBe('28P01');
    const [role] = await targetDb`SELECT count(*)::int AS n FROM pg_roles WHERE rolname = ${user}`;
    expect(role?.n).toBe(0);
    expect(h.slack.calls.filter((c) => JSON.stringify(c).includes(password))).toHaveLength(1);
    expect(h.logs()).not.toContain(password);
  });
});
