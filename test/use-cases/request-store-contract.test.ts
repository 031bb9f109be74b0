/**
 * The fake `RequestStore` the use-case tests run on, held to the same contract as the PostgreSQL adapter
 * (one database for this file, copied from the migrated template).
 */
import { afterAll, beforeAll, describe } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/store/db.js';
import { PostgresRequestStore } from '../../src/store/request-store.js';
import { FakeRequestStore } from '../fakes/fake-request-store.js';
import { requestStoreContract } from '../fakes/request-store.contract.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';

requestStoreContract('in-memory fake', () => new FakeRequestStore({ now: () => new Date() }));

describe('real adapter', () => {
  let testDb: TestDatabase | undefined;
  let handle: DatabaseHandle | undefined;
  let store: PostgresRequestStore | undefined;

  beforeAll(async () => {
    testDb = await createTestDatabase('contract');
    handle = openDatabase(testDb.url);
    store = new PostgresRequestStore(handle.db);
  });

  afterAll(async () => {
    await handle?.close();
    await testDb?.drop();
  });

  requestStoreContract('PostgreSQL', () => {
    if (!store) throw new Error('the database was not set up');
    return store;
  });
});
