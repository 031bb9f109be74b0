/**
 * PostgreSQL adapter of the replay guard's signature store (`slack_request_signatures`): the signature of every
 * Slack request accepted in the last few minutes. A signature that is already there is a replay of the same
 * signed bytes. The primary key decides between concurrent identical requests: exactly one insert wins, in any
 * number of processes.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './db.js';
import { slackRequestSignatures } from './schema.js';

/**
 * How long a signature is kept. Slack's signature is accepted for 5 minutes either side of now (the guard's
 * two-sided check), so a request older than that is refused by its timestamp before its signature is looked at;
 * 10 minutes leaves a margin for clock differences between the app hosts and the database.
 */
export const SIGNATURE_RETENTION_SECONDS = 10 * 60;
/** Old rows deleted per claim at most: steady traffic deletes about one row per claim, a backlog drains. */
const PURGE_BATCH = 500;

export class PostgresSlackSignatures {
  constructor(private readonly db: Database) {}

  /**
   * Records the signature; true when it was new, false when it was already recorded (a replay). One statement:
   * rows past the retention are deleted (SKIP LOCKED, so concurrent claims never wait on, or deadlock over,
   * each other's purge) and the signature is inserted with ON CONFLICT DO NOTHING.
   */
  async claim(signature: string): Promise<boolean> {
    const t = slackRequestSignatures;
    const rows = await this.db.execute(sql`
      WITH purged AS (
        DELETE FROM ${t} WHERE signature IN (
          SELECT signature FROM ${t}
          WHERE received_at < now() - make_interval(secs => ${SIGNATURE_RETENTION_SECONDS})
          LIMIT ${PURGE_BATCH}
          FOR UPDATE SKIP LOCKED
        )
      )
      INSERT INTO ${t} (signature) VALUES (${signature})
      ON CONFLICT (signature) DO NOTHING
      RETURNING 1 AS claimed`);
    return rows.length === 1;
  }
}
