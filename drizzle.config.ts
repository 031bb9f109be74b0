import { defineConfig } from 'drizzle-kit';

// Generation needs no database: `npm run db:generate` diffs src/store/schema.ts against migrations/.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/store/schema.ts',
  out: './migrations',
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/accessbot' },
});
