/**
 * The `/access …` command grammar, shared by every chat platform.
 * Parsing never throws: every problem comes back as a value the adapter can show to the user.
 */
import { parseDuration } from './duration.js';

export const REASON_MAX_LENGTH = 500;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export type Command =
  | { kind: 'help' }
  | { kind: 'request-form' }
  | { kind: 'request'; resource: string; role: string; durationMs: number; reason: string };

export type CommandResult = { ok: true; command: Command } | { ok: false; problem: string; usage: string };

export const REQUEST_USAGE = '/access request <resource> <role> <duration> <reason…>   e.g. /access request prod-db read 2h INC-4821 hotfix';

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
    default:
      return { ok: false, problem: `unknown command "${verb}"`, usage: REQUEST_USAGE };
  }
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
  if (reason.length > REASON_MAX_LENGTH) {
    return fail(`the reason is ${reason.length} characters; at most ${REASON_MAX_LENGTH} are allowed`);
  }
  return { ok: true, command: { kind: 'request', resource, role, durationMs: parsed.ms, reason } };
}
