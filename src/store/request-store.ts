/**
 * The PostgreSQL adapter of `RequestStore`. Decisions and other transitions are serialised on the request
 * row (`SELECT … FOR UPDATE`) and saved with compare-and-swap on `version`, so double clicks, concurrent
 * clicks and replays produce exactly one outcome. The audit entry and the outbox notifications of a
 * transition are written in the same transaction as the state they describe.
 *
 * Where things are (src/store/request-store/):
 * - writes.ts: `PostgresRequestStore`: the transactional writes (create, apply, applyTogether: state, decision,
 *   grant window, audit entry and outbox in one transaction), pre-existing grants, the target lock, and the
 *   App Home, outbox, card and requester-DM writes
 * - reads.ts: `RequestReads`, the queries it inherits: snapshots, lists, history, audit trail, grant coverage,
 *   App Home viewers, the outbox, cards and the requester DMs still showing actions
 * - snapshot.ts: one request with its decisions, read plain or locked (`SELECT … FOR UPDATE`)
 */
export { PostgresRequestStore } from './request-store/writes.js';
