/**
 * The replay guard's signature store on a real PostgreSQL: a new signature is claimed, the same one is not
 * (in any number of processes, at the same moment: exactly one claim wins), and each claim deletes the rows
 * older than the 10-minute retention.
 */
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresSlackSignatures, SIGNATURE_RETENTION_SECONDS } from '../../src/store/slack-signatures.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

let db: TestDatabase;
let a: DatabaseHandle;
let b: DatabaseHandle;
let raw: postgres.Sql;

beforeAll(async () => {
  db = await createTestDatabase('slacksigs');
  a = openDatabase(db.url, { max: 4 });
  b = openDatabase(db.url, { max: 4 });
  raw = postgres(db.url, { max: 1, onnotice: () => {} });
});
afterAll(async () => {
  await a?.close();
  await b?.close();
  await raw?.end();
  await db?.drop();
});

let n = 0;
const sig = () => `v0=${String(++n).padStart(64, '0')}`;
const stored = async (signature: string) => (await raw`SELECT 1 FROM slack_request_signatures WHERE signature = ${signature}`).length === 1;

describe('PostgresSlackSignatures.claim', () => {
  it('is true for a new signature, then false for the same one', async () => {
    const store = new PostgresSlackSignatures(a.db);
    const s = sig();
    expect(await store.claim(s)).toBe(true);
    expect(await store.claim(s)).toBe(false);
    expect(await new PostgresSlackSignatures(b.db).claim(s)).toBe(false);
    expect(await stored(s)).toBe(true);
  });

  it('twenty identical claims at the same moment from two processes: exactly one wins', async () => {
    const s = sig();
    const stores = [new PostgresSlackSignatures(a.db), new PostgresSlackSignatures(b.db)];
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => stores[i % 2]!.claim(s)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('deletes signatures older than the retention on the next claim, and keeps younger ones', async () => {
    const old = sig();
    const young = sig();
    await raw`INSERT INTO slack_request_signatures (signature, received_at) VALUES
      (${old}, now() - make_interval(secs => ${SIGNATURE_RETENTION_SECONDS + 60})),
      (${young}, now() - make_interval(secs => ${SIGNATURE_RETENTION_SECONDS - 60}))`;
    expect(SIGNATURE_RETENTION_SECONDS).toBe(600);

    expect(await new PostgresSlackSignatures(a.db).claim(sig())).toBe(true);

    expect(await stored(old)).toBe(false);
    expect(await stored(young)).toBe(true);
    // A purged signature could be claimed again (its request is refused by its timestamp long before that).
    expect(await new PostgresSlackSignatures(a.db).claim(old)).toBe(true);
  });

  it('a store whose database is unreachable rejects (the guard then fails closed)', async () => {
    const gone = openDatabase(db.url.replace(/:(\d+)\//, ':1/'), { max: 1 });
    try {
      await expect(new PostgresSlackSignatures(gone.db).claim(sig())).rejects.toThrow();
    } finally {
      await gone.close();
    }
  });
});
