/**
 * Fakes `AccessProvider` and `ProviderRegistry`: memberships (principal → grants) in a Map, with the limits
 * of `PostgresRoleProvider`:
 * - a name that is empty, over 63 bytes or contains NUL is a `PermanentProviderError` before anything runs;
 * - granting a role that does not exist, or to a principal that does not exist, is a `PermanentProviderError`
 *   (SQLSTATE 42704), and a failed grant grants none of the roles (one transaction);
 * - `held` of an unknown principal is empty; granting what is held and revoking what is gone succeed.
 * The registry, like the real one, throws for a resource it has no provider for.
 * Test hooks: `failNext(op, times, kind)` fails the next calls (transient `Error` or permanent), `failAlways`
 * keeps failing until `heal()`; every call is recorded with whether it succeeded.
 * - `listGranted(grants)` lists the memberships of those roles whose grantor is the bot: made by `grant` when
 *   the principal did not already hold the role (PostgreSQL 15 keeps the first grantor of a membership), never
 *   by `hold` (a DBA).
 * Left out on purpose: sessions (revoke ending open sessions), role inheritance (only direct memberships are
 * modelled, as `held` reads only those), PostgreSQL 16's one membership per grantor, and `expiresAt`
 * (PostgreSQL has no native expiry).
 */
import { PermanentProviderError, type AccessProvider, type GrantTarget, type GrantedObject, type ProviderRegistry } from '../../src/use-cases/ports.js';

export type ProviderOp = 'held' | 'grant' | 'revoke' | 'listGranted';
export type FailureKind = 'transient' | 'permanent';

export interface ProviderCall {
  op: ProviderOp;
  principal: string;
  grants: string[];
  ok: boolean;
}

const MAX_IDENTIFIER_BYTES = 63;

export class FakeProvider implements AccessProvider {
  /** Memberships, shared by grants of the same role, like PostgreSQL's. */
  readonly perGrantObjects = false;
  readonly calls: ProviderCall[] = [];
  readonly #memberships = new Map<string, Set<string>>();
  /** `[principal, grant]` as JSON: the memberships whose grantor is the bot. */
  readonly #byBot = new Set<string>();
  readonly #roles: Set<string>;
  readonly #failures = new Map<ProviderOp, { remaining: number; kind: FailureKind }>();

  /** `roles`: the grantable roles that exist on the target; `principals`: the login roles that exist. */
  constructor(options: { roles: string[]; principals: string[] }) {
    this.#roles = new Set(options.roles);
    for (const p of options.principals) this.#memberships.set(p, new Set());
  }

  addPrincipal(principal: string, ...holding: string[]): this {
    this.#memberships.set(principal, new Set(holding));
    return this;
  }

  /** Gives a membership outside the bot (a standing grant made by a DBA). */
  hold(principal: string, ...grants: string[]): this {
    const set = this.#memberships.get(principal);
    if (!set) throw new Error(`no principal ${principal} on the fake target`);
    for (const g of grants) set.add(g);
    return this;
  }

  membershipsOf(principal: string): string[] {
    return [...(this.#memberships.get(principal) ?? [])].sort();
  }

  failNext(op: ProviderOp, times = 1, kind: FailureKind = 'transient'): void {
    this.#failures.set(op, { remaining: times, kind });
  }

  failAlways(op: ProviderOp, kind: FailureKind = 'transient'): void {
    this.#failures.set(op, { remaining: Number.POSITIVE_INFINITY, kind });
  }

  heal(): void {
    this.#failures.clear();
  }

  callsOf(op: ProviderOp): ProviderCall[] {
    return this.calls.filter((c) => c.op === op);
  }

  async held({ principal, grants }: GrantTarget): Promise<string[]> {
    return this.#run('held', principal, grants, () => {
      const set = this.#memberships.get(principal);
      return grants.filter((g) => set?.has(g) ?? false);
    });
  }

  async grant({ principal, grants }: GrantTarget): Promise<void> {
    this.#run('grant', principal, grants, () => {
      if (grants.length === 0) return;
      const set = this.#memberships.get(principal);
      if (!set) throw new PermanentProviderError(`cannot grant to "${principal}": SQLSTATE 42704: role "${principal}" does not exist`);
      const missing = grants.find((g) => !this.#roles.has(g));
      if (missing) throw new PermanentProviderError(`cannot grant "${missing}": SQLSTATE 42704: role "${missing}" does not exist`);
      for (const g of grants) {
        if (!set.has(g)) this.#byBot.add(JSON.stringify([principal, g]));
        set.add(g);
      }
    });
  }

  async revoke({ principal, grants }: GrantTarget): Promise<void> {
    this.#run('revoke', principal, grants, () => {
      const set = this.#memberships.get(principal);
      for (const g of grants) {
        set?.delete(g);
        this.#byBot.delete(JSON.stringify([principal, g]));
      }
    });
  }

  async listGranted(grants: string[]): Promise<GrantedObject[]> {
    return this.#run('listGranted', '-', grants, () =>
      [...this.#byBot]
        .map((key) => JSON.parse(key) as [string, string])
        .filter(([, grant]) => grants.includes(grant))
        .map(([principal, grant]) => ({ principal, grant, requestId: null })),
    );
  }

  #run<T>(op: ProviderOp, principal: string, grants: string[], body: () => T): T {
    const call: ProviderCall = { op, principal, grants: [...grants], ok: false };
    this.calls.push(call);
    checkIdentifiers(principal, grants);
    // Like the real provider, an empty list makes no round trip, so there is nothing to fail.
    const failure = grants.length === 0 ? undefined : this.#failures.get(op);
    if (failure && failure.remaining > 0) {
      failure.remaining -= 1;
      throw failure.kind === 'permanent'
        ? new PermanentProviderError(`cannot ${op} for "${principal}": SQLSTATE 42501: permission denied to grant role`)
        : new Error(`cannot ${op} for "${principal}": driver error ECONNREFUSED`);
    }
    const result = body();
    call.ok = true;
    return result;
  }
}

function checkIdentifiers(principal: string, grants: string[]): void {
  for (const name of [principal, ...grants]) {
    const bytes = Buffer.byteLength(name, 'utf8');
    if (bytes === 0 || bytes > MAX_IDENTIFIER_BYTES || name.includes('\0')) {
      throw new PermanentProviderError(`invalid PostgreSQL role name "${name}": must be 1 to ${MAX_IDENTIFIER_BYTES} bytes without NUL`);
    }
  }
}

export class FakeProviderRegistry implements ProviderRegistry {
  readonly #providers: Map<string, AccessProvider>;

  constructor(providers: Record<string, AccessProvider>) {
    this.#providers = new Map(Object.entries(providers));
  }

  forResource(resource: string): AccessProvider {
    const provider = this.#providers.get(resource);
    if (!provider) throw new Error(`no provider for resource "${resource}"`);
    return provider;
  }
}
