/**
 * The contract every `AccessProvider` passes, run by each provider's own test file against its real target
 * (PostgreSQL, MariaDB) or its real SDK over a faked HTTP API (clouds):
 *
 *   describeProviderContract('postgres', () => ({ provider, principal, grants: [a, b], hostile: {...} }));
 *
 * What it checks is what the use cases rely on: idempotent grant and revoke, "already gone" is success,
 * `held` tells the truth, each grant's own objects are independent when the provider keeps per-grant
 * objects, and hostile names are either handled literally or refused as permanent, never interpreted.
 */
import { describe, expect, it } from 'vitest';
import { PermanentProviderError, type AccessProvider, type GrantTarget } from '../../src/use-cases/ports.js';

export interface ContractSubject {
  provider: AccessProvider;
  /** A principal that exists on the target and holds none of `grants`. */
  principal: string;
  /** Two grants the provider may give that principal. */
  grants: [string, string];
  /**
   * True when every grant creates its own object on the target (a binding, an assignment, an inline policy
   * named after the request), so revoking one grant leaves another grant of the same role in place.
   */
  perGrantObjects: boolean;
  /** A principal and a grant with hostile names (quotes, semicolons, unicode), when the target has names. */
  hostile?: { principal: string; grant: string };
}

let counter = 0;
const target = (s: ContractSubject, grants: string[], principal = s.principal): GrantTarget => ({
  requestId: `req_contract${(counter++).toString(36)}`,
  principal,
  grants,
  expiresAt: new Date(Date.now() + 3_600_000),
});

export function describeProviderContract(name: string, subject: () => ContractSubject | Promise<ContractSubject>): void {
  describe(`${name} provider contract`, () => {
    it('grants, and granting again is a success that changes nothing', async () => {
      const s = await subject();
      // What the provider declares decides what the use cases ask it to revoke: it must be true.
      expect(s.provider.perGrantObjects).toBe(s.perGrantObjects);
      const t = target(s, [s.grants[0]]);
      await s.provider.grant(t);
      await s.provider.grant(t);
      expect(await s.provider.held({ ...t, grants: s.grants })).toEqual([s.grants[0]]);
      await s.provider.revoke(t);
    });

    it('revokes, and revoking again or revoking what was never granted succeeds', async () => {
      const s = await subject();
      const t = target(s, [...s.grants]);
      await s.provider.grant(t);
      expect(await s.provider.held(t)).toEqual([...s.grants]);
      await s.provider.revoke(t);
      expect(await s.provider.held(t)).toEqual([]);
      await s.provider.revoke(t);
      await s.provider.revoke(target(s, [s.grants[1]]));
    });

    it('keeps grants of the same role independent when it keeps per-grant objects', async () => {
      const s = await subject();
      const first = target(s, [s.grants[0]]);
      const second = target(s, [s.grants[0]]);
      await s.provider.grant(first);
      await s.provider.grant(second);
      await s.provider.revoke(first);
      // Per-grant objects: the second grant still holds. Shared memberships: the use case decides (it never
      // asks to revoke what another grant still covers), so the provider simply revoked it.
      expect(await s.provider.held(second)).toEqual(s.perGrantObjects ? [s.grants[0]] : []);
      await s.provider.revoke(second);
      expect(await s.provider.held(second)).toEqual([]);
    });

    it('handles hostile names literally or refuses them as permanent, never as code', async () => {
      const s = await subject();
      if (!s.hostile) return;
      const t = target(s, [s.hostile.grant], s.hostile.principal);
      try {
        await s.provider.grant(t);
      } catch (error) {
        expect(error).toBeInstanceOf(PermanentProviderError);
        return;
      }
      expect(await s.provider.held(t)).toEqual([s.hostile.grant]);
      await s.provider.revoke(t);
      expect(await s.provider.held(t)).toEqual([]);
    });
  });
}
