import { describe, expect, it } from 'vitest';
import { MINUTE } from '../../src/domain/duration.js';
import { breakGlassRequest } from '../../src/use-cases/break-glass.js';
import { ALICE, createWorld } from './world.js';

const REASON = 'prod is down, the orders table is locked and I must kill the blocker';

describe('breakGlassRequest', () => {
  it.each(['constructor', 'toString', '__proto__'])('a resource named like an object property (%s) is refused and audited, not a crash', async (resource) => {
    const w = createWorld();
    const result = await breakGlassRequest(w.deps, { requesterId: ALICE, resource, role: 'read', durationMs: 10 * MINUTE, reason: REASON });

    expect(result).toMatchObject({ ok: false, error: { code: 'UNKNOWN_RESOURCE' } });
    expect(w.store.requestCount()).toBe(0);
    expect(w.store.auditLog(null)).toMatchObject([{ action: 'break-glass.refused', actor: ALICE, details: { resource, code: 'UNKNOWN_RESOURCE' } }]);
    expect(w.target.calls).toEqual([]);
  });
});
