/**
 * Fakes an `AccessProvider` with per-grant objects, like the Kubernetes, GCP and AWS IAM providers: each grant
 * creates its own object (a binding named after the request), so the principal holds a role while any
 * object for it exists, and a revoke removes only that request's objects.
 * Left out on purpose: failures, names and expiry; `FakeProvider` covers those for shared memberships.
 */
import type { AccessProvider, GrantTarget } from '../../src/use-cases/ports.js';

export class FakeBindingProvider implements AccessProvider {
  readonly perGrantObjects = true;
  /** `principal/grant` → the request ids whose objects grant it. */
  readonly #objects = new Map<string, Set<string>>();

  /** Whether the principal can use the grant at all (through any object). */
  holds(principal: string, grant: string): boolean {
    return (this.#objects.get(`${principal}/${grant}`)?.size ?? 0) > 0;
  }

  objectsFor(principal: string, grant: string): string[] {
    return [...(this.#objects.get(`${principal}/${grant}`) ?? [])].sort();
  }

  async held({ principal, grants, requestId }: GrantTarget): Promise<string[]> {
    return grants.filter((g) => this.#objects.get(`${principal}/${g}`)?.has(requestId) ?? false);
  }

  async grant({ principal, grants, requestId }: GrantTarget): Promise<void> {
    for (const g of grants) {
      const key = `${principal}/${g}`;
      this.#objects.set(key, (this.#objects.get(key) ?? new Set()).add(requestId));
    }
  }

  async revoke({ principal, grants, requestId }: GrantTarget): Promise<void> {
    for (const g of grants) this.#objects.get(`${principal}/${g}`)?.delete(requestId);
  }
}
