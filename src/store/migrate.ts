/**
 * Applies pending migrations from `migrations/` on a dedicated one-connection client. An advisory lock makes
 * concurrent starts (several web and worker processes) safe: one migrates, the others wait, then find nothing to do.
 */
import { fileURLToPath } from 'node:url';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url));
const LOCK_KEY = 0x61636365; // "acce"

export async function migrateDatabase(url: string): Promise<void> {
  const client = postgres(url, { max: 1, onnotice: () => {} });
  try {
    await client`SELECT pg_advisory_lock(${LOCK_KEY})`;
    try {
      await migrate(drizzle(client), { migrationsFolder: MIGRATIONS });
    } finally {
      await client`SELECT pg_advisory_unlock(${LOCK_KEY})`;
    }
  } finally {
    await client.end();
  }
}
