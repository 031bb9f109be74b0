/** One request with its decisions, read plain or locked for a transition (`SELECT … FOR UPDATE`). */
import { asc, eq } from 'drizzle-orm';
import type { Decision } from '../../domain/request.js';
import type { RequestSnapshot } from '../../use-cases/ports.js';
import type { Database } from '../db.js';
import { SELECT_REQUEST, toDomain } from '../request-rows.js';
import { accessRequests, decisions, grants } from '../schema.js';

export type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

type Executor = Database | Tx;

export async function loadSnapshot(ex: Executor, requestId: string, forUpdate: boolean): Promise<RequestSnapshot | null> {
  const base = ex.select(SELECT_REQUEST).from(accessRequests).leftJoin(grants, eq(grants.requestId, accessRequests.id)).where(eq(accessRequests.id, requestId));
  const [row] = forUpdate ? await base.for('update', { of: accessRequests }) : await base;
  if (!row) return null;
  const rows = await ex.select().from(decisions).where(eq(decisions.requestId, requestId)).orderBy(asc(decisions.id));
  const list: Decision[] = rows.map((d) => ({
    approverId: d.approverId,
    outcome: d.outcome as Decision['outcome'],
    reason: d.reason,
    at: d.decidedAt,
  }));
  return { request: toDomain(row.request, row.grant), decisions: list };
}
