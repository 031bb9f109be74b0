import type { WebClient } from '@slack/web-api';
import { describe, expect, it } from 'vitest';
import { SlackDirectory, USERGROUP_CACHE_TTL_MS } from '../../src/chat/slack/slack-directory.js';

/** A WebClient with only `usergroups.users.list`, answering like Slack (unknown group: `no_such_subteam`). */
function client(groups: Map<string, string[]>) {
  const calls: string[] = [];
  const stub = {
    usergroups: {
      users: {
        list: async ({ usergroup }: { usergroup: string }) => {
          calls.push(usergroup);
          const users = groups.get(usergroup);
          if (!users) throw new Error('An API error occurred: no_such_subteam');
          return { ok: true, users: [...users] };
        },
      },
    },
  };
  return { web: stub as unknown as WebClient, calls };
}

describe('SlackDirectory.groupsOf', () => {
  it('answers which candidate groups the user is in, and caches each member list for the TTL', async () => {
    const groups = new Map([['S0SRE0001', ['U0CAROL03']], ['S0DEVS001', ['U0ALICE01', 'U0CAROL03']]]);
    const { web, calls } = client(groups);
    let now = 1_000_000;
    const directory = new SlackDirectory(web, () => now);

    expect(await directory.groupsOf('U0CAROL03', ['S0SRE0001', 'S0DEVS001'])).toEqual(['S0SRE0001', 'S0DEVS001']);
    expect(await directory.groupsOf('U0ALICE01', ['S0SRE0001', 'S0DEVS001'])).toEqual(['S0DEVS001']);
    expect(calls).toEqual(['S0SRE0001', 'S0DEVS001']);

    // Carol leaves SRE: still seen as a member until the cache expires, then not.
    groups.set('S0SRE0001', []);
    now += USERGROUP_CACHE_TTL_MS - 1;
    expect(await directory.groupsOf('U0CAROL03', ['S0SRE0001'])).toEqual(['S0SRE0001']);
    now += 1;
    expect(await directory.groupsOf('U0CAROL03', ['S0SRE0001'])).toEqual([]);
    expect(calls).toEqual(['S0SRE0001', 'S0DEVS001', 'S0SRE0001']);
  });

  it('an unknown group does not hide the others; with nothing found, its error is thrown', async () => {
    const { web } = client(new Map([['S0SRE0001', ['U0CAROL03']]]));
    const directory = new SlackDirectory(web);
    expect(await directory.groupsOf('U0CAROL03', ['S0GONE001', 'S0SRE0001'])).toEqual(['S0SRE0001']);
    await expect(directory.groupsOf('U0ALICE01', ['S0GONE001', 'S0SRE0001'])).rejects.toThrow(/no_such_subteam/);
  });
});
