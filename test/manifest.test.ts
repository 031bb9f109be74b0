import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { SLASH_COMMAND } from '../src/chat/slack/ids.js';

/** The bot scopes the code relies on, and why; a missing one fails at runtime with `missing_scope`. */
const NEEDED_SCOPES: Record<string, string> = {
  commands: 'the /access slash command',
  'chat:write': 'posting and updating cards, DMs',
  'chat:write.public': 'posting cards in public channels without an invite',
  'users:read': 'users.info',
  'users:read.email': 'mapping Slack users to target accounts by email',
  'usergroups:read': 'approver user groups',
  'im:write': 'conversations.open for DMs',
};

interface Manifest {
  display_information?: { name?: string };
  features?: {
    app_home?: { home_tab_enabled?: boolean; messages_tab_enabled?: boolean; messages_tab_read_only_enabled?: boolean };
    bot_user?: { display_name?: string };
    slash_commands?: { command: string; description?: string; usage_hint?: string; should_escape?: boolean }[];
  };
  oauth_config?: { scopes?: { bot?: string[] } };
  settings?: { interactivity?: { is_enabled?: boolean }; event_subscriptions?: { bot_events?: string[] } };
}

const manifest = parse(readFileSync(new URL('../manifest.yml', import.meta.url), 'utf8')) as Manifest;

describe('manifest.yml', () => {
  it('declares the slash command the listeners answer', () => {
    expect(manifest.features?.slash_commands).toHaveLength(1);
    expect(manifest.features?.slash_commands?.[0]).toMatchObject({ command: SLASH_COMMAND, should_escape: true });
    expect(manifest.features?.slash_commands?.[0]?.usage_hint).toBeTruthy();
  });

  it('enables interactivity (buttons, the request form)', () => {
    expect(manifest.settings?.interactivity?.is_enabled).toBe(true);
  });

  it('enables the App Home tab and a read-only Messages tab, and subscribes to app_home_opened', () => {
    expect(manifest.features?.app_home).toEqual({ home_tab_enabled: true, messages_tab_enabled: true, messages_tab_read_only_enabled: true });
    expect(manifest.settings?.event_subscriptions?.bot_events).toContain('app_home_opened');
  });

  it('asks for every scope the code needs', () => {
    expect(manifest.oauth_config?.scopes?.bot).toEqual(expect.arrayContaining(Object.keys(NEEDED_SCOPES)));
  });

  it('has the fields Slack requires', () => {
    expect(manifest.display_information?.name?.length).toBeLessThanOrEqual(35);
    expect(manifest.features?.bot_user?.display_name).toBeTruthy();
    expect(manifest.features?.slash_commands?.[0]?.description).toBeTruthy();
  });
});
