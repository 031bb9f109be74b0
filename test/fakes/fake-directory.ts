/**
 * Fakes `IdentityDirectory` the way Slack's `users.info` behaves behind `SlackDirectory`: a known user with
 * an email gives it, a known user without one (a bot, a guest whose email is hidden) gives null, and an
 * unknown user id is an API error (`user_not_found`), not a null. Can be made to fail like a Slack outage.
 * Left out on purpose: rate limits and retries (the WebClient's business), profile fields other than email.
 */
import type { IdentityDirectory } from '../../src/use-cases/ports.js';

export class FakeDirectory implements IdentityDirectory {
  readonly #users = new Map<string, string | null>();
  #failures = 0;
  readonly lookups: string[] = [];
  /** Slack user groups (`S…`) and their members, as `usergroups.users.list` gives them. */
  readonly #groups = new Map<string, Set<string>>();
  readonly groupLookups: { userId: string; candidates: string[] }[] = [];

  /** A user group with these members (replacing any earlier list). */
  group(groupId: string, members: string[]): this {
    this.#groups.set(groupId, new Set(members));
    return this;
  }

  /** A workspace member; `email` null when Slack would not reveal one. */
  add(userId: string, email: string | null): this {
    this.#users.set(userId, email);
    return this;
  }

  failNext(times = 1): void {
    this.#failures = times;
  }

  async emailOf(userId: string): Promise<string | null> {
    this.lookups.push(userId);
    if (this.#failures > 0) {
      this.#failures -= 1;
      throw new Error('An API error occurred: service_unavailable');
    }
    if (!this.#users.has(userId)) throw new Error('An API error occurred: user_not_found');
    const email = this.#users.get(userId) ?? null;
    // SlackDirectory passes on only something that looks like an address.
    return email !== null && email.includes('@') ? email : null;
  }

  /** Which of the candidates the user is in; a group Slack does not know is skipped, as `SlackDirectory` does. */
  async groupsOf(userId: string, candidateGroups: readonly string[]): Promise<string[]> {
    this.groupLookups.push({ userId, candidates: [...candidateGroups] });
    if (this.#failures > 0) {
      this.#failures -= 1;
      throw new Error('An API error occurred: service_unavailable');
    }
    return candidateGroups.filter((g) => this.#groups.get(g)?.has(userId) ?? false);
  }
}
