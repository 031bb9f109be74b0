import { describe, it, expect } from 'vitest';
import { REASON_MAX_LENGTH, REQUEST_USAGE, parseCommand } from '../../src/domain/command.js';
import { HOUR, MINUTE } from '../../src/domain/duration.js';

describe('parseCommand: requests that parse', () => {
  it.each([
    ['the documented example', 'request prod-db read 2h INC-4821 hotfix', 'prod-db', 'read', 2 * HOUR, 'INC-4821 hotfix'],
    ['an uppercase verb', 'REQUEST prod-db read 2h INC-1', 'prod-db', 'read', 2 * HOUR, 'INC-1'],
    ['a compound duration', 'request prod-db write 1h30m migrate', 'prod-db', 'write', HOUR + 30 * MINUTE, 'migrate'],
    ['surrounding whitespace', '   request prod-db read 2h  INC-1  ', 'prod-db', 'read', 2 * HOUR, 'INC-1'],
    ['extra spaces between words', 'request   prod-db   read   15m   why', 'prod-db', 'read', 15 * MINUTE, 'why'],
    ['the reason keeps its own spacing', 'request prod-db read 2h INC-1   fix  the   index', 'prod-db', 'read', 2 * HOUR, 'INC-1   fix  the   index'],
    ['a multi-line reason', 'request prod-db read 2h INC-1\nsecond line', 'prod-db', 'read', 2 * HOUR, 'INC-1\nsecond line'],
    ['Slack-escaped &amp;', 'request prod-db read 2h R&amp;D sync', 'prod-db', 'read', 2 * HOUR, 'R&D sync'],
    ['Slack-escaped &lt; and &gt;', 'request prod-db read 2h rows &lt; 10 &gt; 2', 'prod-db', 'read', 2 * HOUR, 'rows < 10 > 2'],
    ['a literal "&lt;" the user typed', 'request prod-db read 2h the &amp;lt; entity', 'prod-db', 'read', 2 * HOUR, 'the &lt; entity'],
    ['a reason at the length limit', `request prod-db read 2h ${'x'.repeat(REASON_MAX_LENGTH)}`, 'prod-db', 'read', 2 * HOUR, 'x'.repeat(REASON_MAX_LENGTH)],
  ])('%s', (_label, text, resource, role, durationMs, reason) => {
    expect(parseCommand(text)).toEqual({ ok: true, command: { kind: 'request', resource, role, durationMs, reason } });
  });
});

describe('parseCommand: other commands', () => {
  it.each([
    ['request alone opens the form', 'request', { kind: 'request-form' }],
    ['request with trailing spaces opens the form', 'request   ', { kind: 'request-form' }],
    ['help', 'help', { kind: 'help' }],
    ['HELP', 'HELP', { kind: 'help' }],
    ['empty text', '', { kind: 'help' }],
    ['only whitespace', '   ', { kind: 'help' }],
  ])('%s', (_label, text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });
});

describe('parseCommand: refusals name the problem and show the usage', () => {
  it.each([
    ['missing role', 'request prod-db', /the role is missing/],
    ['missing duration', 'request prod-db read', /the duration is missing/],
    ['a bad duration', 'request prod-db read 2hours INC-1', /"2hours" is not a duration/],
    ['a duration in the wrong order', 'request prod-db read 30m1h INC-1', /"30m1h" is not a duration/],
    ['a duration above the ceiling', 'request prod-db read 31d INC-1', /31d is too long/],
    ['missing reason', 'request prod-db read 2h', /a reason is required/],
    ['a blank reason', 'request prod-db read 2h    ', /a reason is required/],
    ['an over-long reason', `request prod-db read 2h ${'x'.repeat(REASON_MAX_LENGTH + 1)}`, new RegExp(`the reason is ${REASON_MAX_LENGTH + 1} characters; at most ${REASON_MAX_LENGTH} are allowed`)],
    ['an invalid resource name', 'request prod/db read 2h INC-1', /"prod\/db" is not a resource name/],
    ['an invalid role name', 'request prod-db re@d 2h INC-1', /"re@d" is not a role name/],
    ['an unknown verb', 'grant prod-db read 2h', /unknown command "grant"/],
  ])('%s', (_label, text, problem) => {
    const result = parseCommand(text);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problem).toMatch(problem);
    expect(result.usage).toBe(REQUEST_USAGE);
  });
});

describe('lifecycle commands', () => {
  it.each([
    ['list', { kind: 'list' }],
    ['status req_abc123', { kind: 'status', requestId: 'req_abc123' }],
    ['cancel req_abc123', { kind: 'cancel', requestId: 'req_abc123' }],
    ['revoke req_abc123', { kind: 'revoke', requestId: 'req_abc123', note: null }],
    ['revoke req_abc123 incident is over, thanks', { kind: 'revoke', requestId: 'req_abc123', note: 'incident is over, thanks' }],
    ['STATUS req_abc123', { kind: 'status', requestId: 'req_abc123' }],
    ['extend req_abc123 30m migration  still running', { kind: 'extend', requestId: 'req_abc123', durationMs: 30 * 60_000, reason: 'migration  still running' }],
  ])('%s', (text, command) => {
    expect(parseCommand(text)).toEqual({ ok: true, command });
  });

  it.each([
    ['status', /request id is missing/],
    ['cancel', /request id is missing/],
    ['revoke', /request id is missing/],
    ['status req_1 extra', /takes only a request id/],
    ['cancel <script>', /is not a request id/],
    ['list everything', /takes nothing/],
    ['extend', /request id is missing/],
    ['extend req_1', /extra time is missing/],
    ['extend req_1 forever please', /not a duration/],
    ['extend req_1 30m', /reason is required/],
    [`revoke req_1 ${'x'.repeat(501)}`, /at most 500/],
  ])('%s is refused with an explanation', (text, problem) => {
    const result = parseCommand(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toMatch(problem);
      expect(result.usage).toMatch(/^\/access /);
    }
  });
});

describe('break-glass', () => {
  it('parses the resource, role, duration and the whole reason', () => {
    expect(parseCommand('break-glass prod-db emergency 1h INC-9 orders DB down,  restarting')).toEqual({
      ok: true,
      command: { kind: 'break-glass', resource: 'prod-db', role: 'emergency', durationMs: HOUR, reason: 'INC-9 orders DB down,  restarting' },
    });
    expect(parseCommand('BREAK-GLASS prod-db emergency 30m the orders database is down').ok).toBe(true);
  });

  it.each([
    ['break-glass', /resource, a role, a duration and a reason/],
    ['break-glass prod-db emergency 1h', /reason is required/],
    ['break-glass prod-db emergency 1h db is down', /at least 20 characters \(it has 10\)/],
    ['break-glass prod-db emergency soon the orders database is down', /./],
    ['break-glass prod-db', /role is missing/],
  ])('refuses %j, showing the break-glass usage', (text, problem) => {
    const result = parseCommand(text);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.problem).toMatch(problem);
      expect(result.usage).toMatch(/^\/access break-glass /);
    }
  });

  it('needs 20 characters of reason, no fewer', () => {
    expect(parseCommand('break-glass prod-db emergency 1h 12345678901234567890').ok).toBe(true);
    expect(parseCommand('break-glass prod-db emergency 1h 1234567890123456789').ok).toBe(false);
  });
});
