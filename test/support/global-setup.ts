/**
 * Runs once per test run: builds a migrated template database, so each test file can get its own database
 * with a cheap `CREATE DATABASE … TEMPLATE` (see `database.ts`). The template's name is unique per run, so
 * two runs on one machine do not trip over each other.
 */
import postgres from 'postgres';
import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../../src/store/migrate.js';
import { ADMIN_URL, urlFor } from './env.js';

declare module 'vitest' {
  export interface ProvidedContext {
    templateDb: string;
  }
}

async function admin<T>(work: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    return await work(sql);
  } finally {
    await sql.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const name = `accessbot_tpl_${process.pid}_${Date.now().toString(36)}`;
  await admin((sql) => sql.unsafe(`CREATE DATABASE "${name}"`));
  await migrateDatabase(urlFor(name));
  project.provide('templateDb', name);
  return () => admin((sql) => sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`)).then(() => undefined);
}
