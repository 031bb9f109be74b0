/**
 * `IdentityDirectory` over Slack's `users.info` (needs `users:read` and `users:read.email`) and
 * `usergroups.users.list` (needs `usergroups:read`).
 */
import type { WebClient } from '@slack/web-api';
import type { IdentityDirectory } from '../../use-cases/ports.js';

/**
 * How long a user group's member list is reused. `usergroups.users.list` is Tier 2 (about 20 calls a minute),
 * and every request, click and Home view of a policy with groups needs membership, so it is cached. The cost:
 * someone removed from a group keeps that group's rights for up to 5 minutes in this process (someone added
 * waits as long). Acceptable because a group only lets people ask for access or decide a request; every
 * grant still needs a decision and has a bounded duration, and removing a person from the policy's `users`
 * (or the workspace) applies at once. Lower it if group changes must apply faster.
 */
export const USERGROUP_CACHE_TTL_MS = 5 * 60_000;

export class SlackDirectory implements IdentityDirectory {
  readonly #members = new Map<string, { users: Set<string>; until: number }>();

  constructor(
    private readonly client: WebClient,
    private readonly now: () => number = Date.now,
  ) {}

  async emailOf(userId: string): Promise<string | null> {
    const res = await this.client.users.info({ user: userId });
    const email = res.user?.profile?.email;
    return typeof email === 'string' && email.includes('@') ? email : null;
  }

  /**
   * One group that cannot be read (deleted: `no_such_subteam`, or an outage) does not hide the others: the
   * person counts as outside it. Only when nothing was found and some group failed is the error thrown, so the
   * caller logs it (and still treats the person as in no group).
   */
  async groupsOf(userId: string, candidateGroups: readonly string[]): Promise<string[]> {
    const results = await Promise.allSettled(candidateGroups.map(async (group) => ((await this.membersOf(group)).has(userId) ? group : null)));
    const found = results.flatMap((r) => (r.status === 'fulfilled' && r.value !== null ? [r.value] : []));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (found.length === 0 && failed) throw failed.reason;
    return found;
  }

  /** A group's members, from the cache while fresh. A group Slack does not know (`no_such_subteam`) throws. */
  private async membersOf(group: string): Promise<Set<string>> {
    const cached = this.#members.get(group);
    if (cached && cached.until > this.now()) return cached.users;
    const res = await this.client.usergroups.users.list({ usergroup: group });
    const users = new Set(res.users ?? []);
    this.#members.set(group, { users, until: this.now() + USERGROUP_CACHE_TTL_MS });
    return users;
  }
}
