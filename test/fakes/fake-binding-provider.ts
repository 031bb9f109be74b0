/**
 * Fakes an `AccessProvider` with per-grant objects, like the Kubernetes, GCP and AWS IAM providers: each grant
 * creates its own object (a binding named after the request), so the principal holds a role while any
 * object for it exists, and a revoke removes only that request's objects. `listGranted` lists every object,
 * with the request it is named after, as the Kubernetes and GCP providers do.
 * Left out on purpose: failures, names and expiry; `FakeProvider` covers those for shared memberships.
 */
import type { AccessProvider, GrantTarget, GrantedObject } from '../../src/use-cases/ports.js';

const keyOf = (principal: string, grant: string): string => JSON.stringify([principal, grant]);

export class FakeBindingProvider implements AccessProvider {
  readonly perGrantObjects = true;
  /** `[principal, grant]` as JSON → the request ids whose objects grant it. */
  readonly #objects = new Map<string, Set<string>>();

  /** Whether the principal can use the grant at all (through any object). */
  holds(principal: string, grant: string): boolean {
    return (this.#objects.get(keyOf(principal, grant))?.size ?? 0) > 0;
  }

  objectsFor(principal: string, grant: string): string[] {
    return [...(this.#objects.get(keyOf(principal, grant)) ?? [])].sort();
  }

  async held({ principal, grants, requestId }: GrantTarget): Promise<string[]> {
    return grants.filter((g) => this.#objects.get(keyOf(principal, g))?.has(requestId) ?? false);
  }

  async grant({ principal, grants, requestId }: GrantTarget): Promise<void> {
    for (const g of grants) {
      const key = keyOf(principal, g);
      this.#objects.set(key, (this.#objects.get(key) ?? new Set()).add(requestId));
    }
  }

  async revoke({ principal, grants, requestId }: GrantTarget): Promise<void> {
    for (const g of grants) this.#objects.get(keyOf(principal, g))?.delete(requestId);
  }

  async listGranted(): Promise<GrantedObject[]> {
    return [...this.#objects].flatMap(([key, ids]) => {
      const [principal, grant] = JSON.parse(key) as [string, string];
      return [...ids].sort().map((requestId) => ({ principal, grant, requestId }));
    });
  }
}
