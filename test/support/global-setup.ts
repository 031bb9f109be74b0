/**
 * Runs once per test run: builds a migrated template database, so each test file can get its own database
 * with a cheap `CREATE DATABASE … TEMPLATE` (see `database.ts`).
 */
import postgres from 'postgres';
import { migrateDatabase } from '../../src/store/migrate.js';
import { ADMIN_URL, TEMPLATE_DB, urlFor } from './env.js';

export default async function setup(): Promise<void> {
  const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${TEMPLATE_DB}" WITH (FORCE)`);
    await admin.unsafe(`CREATE DATABASE "${TEMPLATE_DB}"`);
  } finally {
    await admin.end();
  }
  await migrateDatabase(urlFor(TEMPLATE_DB));
}
