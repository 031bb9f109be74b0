/**
 * Which of Slack's answers are refusals for good (`PermanentChatError`), through the real Web API client against
 * FakeSlack (which answers `channel_not_found` for a channel it does not have, and HTTP errors on demand), and the
 * classification itself for the codes FakeSlack cannot produce. When unsure, transient.
 */
import { WebAPIHTTPError, WebAPIPlatformError, WebAPIRateLimitedError, WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMANENT_SLACK_ERRORS, classifySlackError } from '../../src/chat/slack/slack-errors.js';
import { SlackNotifier } from '../../src/chat/slack/slack-notifier.js';
import { PermanentChatError } from '../../src/use-cases/ports.js';
import { FakeSlack } from '../support/fake-slack.js';
import { ALICE, snapshot } from './slack-fixtures.js';

const platform = (error: string) => new WebAPIPlatformError({ ok: false, error });

describe('classifySlackError', () => {
  it.each(['channel_not_found', 'is_archived', 'not_in_channel', 'user_not_found', 'cannot_dm_bot', 'msg_too_long', 'invalid_blocks', 'message_not_found'])(
    '%s is a refusal for good, with its code and destination',
    (code) => {
      const error = classifySlackError(platform(code), 'C0GONE0001');
      expect(error).toBeInstanceOf(PermanentChatError);
      expect(error).toMatchObject({ code, destination: 'C0GONE0001' });
    },
  );

  it.each(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout', 'team_added_to_org', 'invalid_auth', 'account_inactive', 'token_revoked', 'missing_scope', 'invalid_arguments', 'some_new_code'])(
    '%s stays transient (retried)',
    (code) => {
      const original = platform(code);
      expect(classifySlackError(original, 'C0APPROVE1')).toBe(original);
    },
  );

  it('HTTP errors, rate limits and network errors stay transient', () => {
    for (const error of [new WebAPIHTTPError(500, 'Internal Server Error', {}), new WebAPIRateLimitedError(30), new Error('socket hang up')]) {
      expect(classifySlackError(error, 'C0APPROVE1')).toBe(error);
    }
  });

  it('names no code that means a problem of the bot’s own token or of Slack itself', () => {
    for (const code of ['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked', 'ratelimited', 'internal_error', 'fatal_error']) {
      expect(PERMANENT_SLACK_ERRORS.has(code)).toBe(false);
    }
  });
});

describe('SlackNotifier against FakeSlack', () => {
  let slack: FakeSlack;
  let notifier: SlackNotifier;
  beforeAll(async () => {
    slack = await new FakeSlack().addChannel('C0APPROVE1').start();
    notifier = new SlackNotifier(new WebClient('xoxb-test', { slackApiUrl: slack.apiUrl, retryConfig: { retries: 0 } }));
  });
  afterAll(async () => {
    await slack.stop();
  });

  it('a card to a channel Slack does not have is refused for good', async () => {
    const error = await notifier.postCard('C0GONE0001', snapshot()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentChatError);
    expect(error).toMatchObject({ code: 'channel_not_found', destination: 'C0GONE0001' });
  });

  it('a 500 from Slack is transient', async () => {
    slack.failNext('chat.postMessage', 500, 1);
    const error = await notifier.postCard('C0APPROVE1', snapshot()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(PermanentChatError);
    expect(await notifier.postCard('C0APPROVE1', snapshot())).toMatchObject({ channel: 'C0APPROVE1' });
  });

  it('admin alerts: a transient failure is thrown rather than a refusal for good, so a retry can still reach that admin', async () => {
    slack.failNext('chat.postMessage', 500, 1);
    const alert = { kind: 'notification-undeliverable' as const, request: snapshot().request, notification: 'post-cards' as const, destination: 'C0GONE0001', code: 'channel_not_found' };
    const error = await notifier.alertAdmins(['C0NOADMIN1', ALICE], alert).catch((e: unknown) => e);
    expect(error).not.toBeInstanceOf(PermanentChatError);
    expect(await notifier.alertAdmins([ALICE], alert)).toBeUndefined();
  });
});
