/**
 * The `/access …` command grammar, shared by every chat platform.
 * Parsing never throws: every problem comes back as a value the adapter can show to the user.
 */
import { parseDuration } from './duration.js';

export const REASON_MAX_LENGTH = 500;

/**
 * What is wrong with a typed reason or note, wherever it is typed (a command, a form), or null. A NUL is refused
 * rather than dropped (decision 20): PostgreSQL text cannot hold it, and silently changing what someone wrote
 * into an audit trail is worse than asking them to type it again.
 */
export function reasonProblem(reason: string): string | null {
  if (reason.includes('\u0000')) return 'the reason contains a NUL character; type plain text';
  if (reason.length > REASON_MAX_LENGTH) return `the reason is ${reason.length} characters; at most ${REASON_MAX_LENGTH} are allowed`;
  return null;
}
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export type Command =
  | { kind: 'help' }
  | { kind: 'request-form' }
  | { kind: 'request'; resource: string; role: string; durationMs: number; reason: string }
  | { kind: 'break-glass'; resource: string; role: string; durationMs: number; reason: string }
  | { kind: 'list' }
  | { kind: 'status'; requestId: string }
  | { kind: 'cancel'; requestId: string }
  | { kind: 'revoke'; requestId: string; note: string | null }
  | { kind: 'extend'; requestId: string; durationMs: number; reason: string };

export type CommandResult = { ok: true; command: Command } | { ok: false; problem: string; usage: string };

export const REQUEST_USAGE = '/access request <resource> <role> <duration> <reason…>   e.g. /access request prod-db read 2h INC-4821 hotfix';
export const BREAK_GLASS_USAGE =
  '/access break-glass <resource> <role> <duration> <reason…>   (at least 20 characters; granted at once, reviewed afterwards)';
/** A break-glass reason is all the approvers have to go on: at least this many characters (see `breakGlass`). */
export const BREAK_GLASS_REASON_MIN_LENGTH = 20;
export const USAGE = {
  status: '/access status <request id>',
  cancel: '/access cancel <request id>',
  revoke: '/access revoke <request id> [reason…]   (a reason is required to revoke someone else’s access)',
  extend: '/access extend <request id> <duration> <reason…>   e.g. /access extend req_7k2m9x4q1p 30m migration still running',
} as const;
const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Slack escapes &, < and > in command text; undo that so the reason is stored as the user typed it. */
function unescapeChat(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

export function parseCommand(rawText: string): CommandResult {
  const text = unescapeChat(rawText).trim();
  const [verb = '', ...rest] = text.split(/\s+/).filter(Boolean);
  switch (verb.toLowerCase()) {
    case '':
    case 'help':
      return { ok: true, command: { kind: 'help' } };
    case 'request':
      return parseRequest(rest, text);
    case 'break-glass':
      return parseBreakGlass(rest, text);
    case 'list':
      return rest.length === 0 ? { ok: true, command: { kind: 'list' } } : { ok: false, problem: '"list" takes nothing after it', usage: '/access list' };
    case 'status':
    case 'cancel':
      return withRequestId(verb.toLowerCase() as 'status' | 'cancel', rest, (requestId) =>
        rest.length > 1 ? null : { kind: verb.toLowerCase() as 'status' | 'cancel', requestId },
      );
    case 'revoke': {
      const note = (/^\S+\s+\S+\s*([\s\S]*)$/.exec(text)?.[1] ?? '').trim();
      const problem = reasonProblem(note);
      if (problem) return { ok: false, problem, usage: USAGE.revoke };
      return withRequestId('revoke', rest, (requestId) => ({ kind: 'revoke', requestId, note: note === '' ? null : note }));
    }
    case 'extend':
      return parseExtend(rest, text);
    default:
      return { ok: false, problem: `unknown command "${verb}"`, usage: REQUEST_USAGE };
  }
}

function withRequestId(
  verb: keyof typeof USAGE,
  words: string[],
  build: (requestId: string) => Command | null,
): CommandResult {
  const [id] = words;
  if (!id) return { ok: false, problem: 'the request id is missing', usage: USAGE[verb] };
  if (!REQUEST_ID.test(id)) return { ok: false, problem: `"${id}" is not a request id`, usage: USAGE[verb] };
  const command = build(id);
  return command ? { ok: true, command } : { ok: false, problem: `"${verb}" takes only a request id`, usage: USAGE[verb] };
}

function parseExtend(words: string[], text: string): CommandResult {
  const fail = (problem: string): CommandResult => ({ ok: false, problem, usage: USAGE.extend });
  const [id, duration] = words;
  if (!id) return fail('the request id is missing');
  if (!REQUEST_ID.test(id)) return fail(`"${id}" is not a request id`);
  if (!duration) return fail('the extra time is missing');
  const parsed = parseDuration(duration);
  if (!parsed.ok) return fail(parsed.problem);
  const reason = (/^\S+\s+\S+\s+\S+\s*([\s\S]*)$/.exec(text)?.[1] ?? '').trim();
  if (reason === '') return fail('a reason is required (why you need more time)');
  const problem = reasonProblem(reason);
  if (problem) return fail(problem);
  return { ok: true, command: { kind: 'extend', requestId: id, durationMs: parsed.ms, reason } };
}

function parseBreakGlass(words: string[], text: string): CommandResult {
  if (words.length === 0) return { ok: false, problem: 'say what you need: a resource, a role, a duration and a reason', usage: BREAK_GLASS_USAGE };
  const parsed = parseRequest(words, text);
  if (!parsed.ok) return { ...parsed, usage: BREAK_GLASS_USAGE };
  if (parsed.command.kind !== 'request') return { ok: false, problem: 'the request is incomplete', usage: BREAK_GLASS_USAGE };
  const { resource, role, durationMs, reason } = parsed.command;
  if (reason.length < BREAK_GLASS_REASON_MIN_LENGTH) {
    return {
      ok: false,
      problem: `a break-glass reason needs at least ${BREAK_GLASS_REASON_MIN_LENGTH} characters (it has ${reason.length}): say what is broken and what you will do`,
      usage: BREAK_GLASS_USAGE,
    };
  }
  return { ok: true, command: { kind: 'break-glass', resource, role, durationMs, reason } };
}

function parseRequest(words: string[], text: string): CommandResult {
  if (words.length === 0) return { ok: true, command: { kind: 'request-form' } };
  const fail = (problem: string): CommandResult => ({ ok: false, problem, usage: REQUEST_USAGE });
  const [resource = '', role, duration] = words;
  if (!NAME.test(resource)) return fail(`"${resource}" is not a resource name`);
  if (!role) return fail('the role is missing');
  if (!NAME.test(role)) return fail(`"${role}" is not a role name`);
  if (!duration) return fail('the duration is missing');
  const parsed = parseDuration(duration);
  if (!parsed.ok) return fail(parsed.problem);
  // The reason keeps its own spacing: everything after the fourth word of the original text.
  const reason = (/^\S+\s+\S+\s+\S+\s+\S+\s*([\s\S]*)$/.exec(text)?.[1] ?? '').trim();
  if (reason === '') return fail('a reason is required (a ticket or a few words on why)');
  const problem = reasonProblem(reason);
  if (problem) return fail(problem);
  return { ok: true, command: { kind: 'request', resource, role, durationMs: parsed.ms, reason } };
}
