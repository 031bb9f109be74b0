/** The database handle. Created by the composition root; nothing connects at import time. */
import { drizzle, type PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import { surviveConnectionLoss } from './connection-loss.js';
import * as schema from './schema.js';

export type Database = PostgresJsDatabase<typeof schema>;

export interface DatabaseHandle {
  db: Database;
  sql: postgres.Sql;
  close(): Promise<void>;
}

export function openDatabase(url: string, options: { max?: number } = {}): DatabaseHandle {
  const sql = postgres(url, { max: options.max ?? 20, onnotice: () => {}, connect_timeout: 10 });
  const db = drizzle(sql, { schema });
  const transaction = db.transaction.bind(db);
  db.transaction = ((work, config) => surviveConnectionLoss((body) => transaction(body, config), work)) as Database['transaction'];
  return { db, sql, close: () => sql.end({ timeout: 5 }) };
}
