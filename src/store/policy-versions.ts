/**
 * PostgreSQL adapter of the `PolicyVersions` port: `policy_versions` (append-only, enforced by a trigger) and
 * one `policy.applied` audit entry per stored version, written in the same transaction. Applies are
 * serialised by a transaction-scoped advisory lock, so two edits at the same moment get consecutive versions
 * and each diff is against the version it really follows.
 */
import { createHash } from 'node:crypto';
import { desc, eq, gte, max, sql } from 'drizzle-orm';
import { parsePolicy } from '../policy/load.js';
import { diffSummary, lineDiff } from '../policy/line-diff.js';
import type { PolicyApplyResult, PolicyOrigin, PolicyVersions, StoredPolicy } from '../use-cases/ports.js';
import type { Database } from './db.js';
import { auditEvents, policyVersions } from './schema.js';

const APPLY_LOCK = 'accessbot:policy-apply';

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

type Row = typeof policyVersions.$inferSelect;

function toStored(row: Row): StoredPolicy {
  return {
    version: row.id,
    text: row.text,
    sha256: row.sha256,
    appliedBy: row.appliedBy,
    source: row.source as PolicyOrigin,
    appliedAt: row.appliedAt,
    diff: row.diff,
  };
}

export class PostgresPolicyVersions implements PolicyVersions {
  constructor(private readonly db: Database) {}

  async active(): Promise<StoredPolicy | null> {
    const [row] = await this.db.select().from(policyVersions).orderBy(desc(policyVersions.id)).limit(1);
    return row ? toStored(row) : null;
  }

  async activeVersion(): Promise<number | null> {
    const [row] = await this.db.select({ version: max(policyVersions.id) }).from(policyVersions);
    return row?.version ?? null;
  }

  async list(limit: number): Promise<StoredPolicy[]> {
    const rows = await this.db.select().from(policyVersions).orderBy(desc(policyVersions.id)).limit(limit);
    return rows.map(toStored);
  }

  async apply(text: string, actor: string, source: PolicyOrigin): Promise<PolicyApplyResult> {
    const parsed = parsePolicy(text, source === 'file' ? 'policy file' : 'policy');
    if (!parsed.ok) return { ok: false, errors: parsed.errors };
    const hash = sha256(text);
    return this.db.transaction(async (tx) => {
      await tx.execute(sql`SELECT pg_advisory_xact_lock(hashtextextended(${APPLY_LOCK}, 0))`);
      const [current] = await tx.select().from(policyVersions).orderBy(desc(policyVersions.id)).limit(1);
      if (current?.sha256 === hash) return { ok: true, version: current.id, changed: false };
      if (current && source === 'file' && (await this.fileSeenSinceLastFile(tx, hash))) {
        // The file is what it was: a newer edit from the Home tab or the CLI stays in force.
        return { ok: true, version: current.id, changed: false };
      }
      const diff = lineDiff(current?.text ?? '', text);
      const [row] = await tx
        .insert(policyVersions)
        .values({ text, sha256: hash, appliedBy: actor, source, diff: diff.text })
        .returning({ id: policyVersions.id });
      const version = row!.id;
      await tx.insert(auditEvents).values({
        requestId: null,
        actor,
        action: 'policy.applied',
        details: { version, previous: current?.id ?? null, source, sha256: hash, diff: diffSummary(diff) },
      });
      return { ok: true, version, changed: true };
    });
  }

  /** Whether `hash` is one of the texts applied since (and including) the last version from the file. */
  private async fileSeenSinceLastFile(tx: Pick<Database, 'select'>, hash: string): Promise<boolean> {
    const lastFile = tx.select({ id: max(policyVersions.id) }).from(policyVersions).where(eq(policyVersions.source, 'file'));
    const rows = await tx
      .select({ sha256: policyVersions.sha256 })
      .from(policyVersions)
      .where(gte(policyVersions.id, sql`(${lastFile})`));
    return rows.some((r) => r.sha256 === hash);
  }
}
