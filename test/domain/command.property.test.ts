/**
 * Generated inputs for the `/access …` grammar: whatever someone types (or whatever reaches us as command text),
 * the parser answers with a command or with a problem that names what was wrong and the usage to follow; and
 * every well-formed request comes back exactly as it was typed, after Slack's entity escaping.
 * 13,700 generated inputs in total; the seeds are fast-check's (a failure prints the seed and the shrunk input).
 */
import fc from 'fast-check';
import '../support/fast-check-seed.js';
import { describe, expect, it } from 'vitest';
import { REASON_MAX_LENGTH, parseCommand, type CommandResult } from '../../src/domain/command.js';
import { DAY, HOUR, MAX_DURATION_MS, MINUTE, MIN_DURATION_MS, SECOND, formatDuration, parseDuration } from '../../src/domain/duration.js';

/** What Slack does to command text before sending it: `&`, `<` and `>` become entities. */
const slackEscape = (typed: string) => typed.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** The words a person sees in what they typed (Slack's escaping undone). */
const wordsOf = (raw: string) =>
  raw.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').trim().split(/\s+/).filter(Boolean);

/**
 * Every problem the parser may report, each naming what was wrong. `word` must be one of the words typed, so the
 * message points at the user's own text rather than at something the parser made up.
 */
const PROBLEMS: RegExp[] = [
  /^unknown command "(?<word>[^]*)"$/,
  /^"list" takes nothing after it$/,
  /^the request id is missing$/,
  /^"(?<word>[^]*)" is not a request id$/,
  /^"(?:status|cancel)" takes only a request id$/,
  /^the reason is (?<length>\d+) characters; at most 500 are allowed$/,
  /^"(?<word>[^]*)" is not a resource name$/,
  /^the role is missing$/,
  /^"(?<word>[^]*)" is not a role name$/,
  /^the duration is missing$/,
  /^"(?<word>[^]*)" is not a duration; use forms like 30s, 15m, 2h, 1d or 1h30m$/,
  /^(?<word>\S+) is too short; the minimum is 5s$/,
  /^(?<word>\S+) is too long; the maximum is 30d$/,
  /^a reason is required \(a ticket or a few words on why\)$/,
  /^the reason contains a NUL character; type plain text$/,
  /^the extra time is missing$/,
  /^a reason is required \(why you need more time\)$/,
];

function expectWellFormed(raw: string, result: CommandResult): void {
  if (result.ok) {
    expect(['help', 'request-form', 'request', 'list', 'status', 'cancel', 'revoke', 'extend']).toContain(result.command.kind);
    if (result.command.kind === 'request') expect(result.command.reason.length).toBeLessThanOrEqual(REASON_MAX_LENGTH);
    return;
  }
  expect(Object.keys(result).sort()).toEqual(['ok', 'problem', 'usage']);
  expect(result.usage).toMatch(/^\/access \S/);
  expect(result.problem.trim()).not.toBe('');
  const match = PROBLEMS.map((p) => p.exec(result.problem)).find((m) => m !== null);
  if (!match) throw new Error(`unrecognised problem ${JSON.stringify(result.problem)} for ${JSON.stringify(raw.slice(0, 200))}`);
  const { word, length } = match.groups ?? {};
  if (word !== undefined) expect(wordsOf(raw)).toContain(word);
  if (length !== undefined) expect(Number(length)).toBeGreaterThan(REASON_MAX_LENGTH);
}

const VERBS = ['request', 'REQUEST', 'Request', 'list', 'status', 'cancel', 'revoke', 'extend', 'help', 'Revoke', 'grant', ''];
const SEPARATORS = [' ', '  ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2028', ' \n '];
/** Pieces that stress the escaping, the splitting and the regexes. */
const HOSTILE_PIECES = [
  '&lt;', '&gt;', '&amp;', '&amp;lt;', '&', '<', '>', ';', 'lt', '&#10;', '<!channel>', '<@U0ALICE01>',
  'request', 'prod-db', 'read', '2h', '1h30m', '0s', '31d', 'x', 'req_abc', ' ', '\n', '\t', '\u0000', '\u0007',
  '\u001b[31m', '\u202e', '\u200b', '\ufeff', '\ud800', '\udfff', '😀', 'e\u0301', '"', "'", '`', '\\', '*',
];

const anyText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 120 }),
  fc.string({ unit: 'grapheme', maxLength: 120 }),
  fc.string({ unit: fc.integer({ min: 0, max: 0x1f }).map((c) => String.fromCharCode(c)), maxLength: 60 }),
  fc.array(fc.constantFrom(...HOSTILE_PIECES), { maxLength: 40 }).map((p) => p.join('')),
  fc
    .tuple(fc.constantFrom(...VERBS), fc.constantFrom(...SEPARATORS), fc.array(fc.oneof(fc.constantFrom(...HOSTILE_PIECES, ...SEPARATORS), fc.string({ unit: 'binary', maxLength: 12 })), { maxLength: 12 }))
    .map(([verb, sep, rest]) => `${verb}${sep}${rest.join('')}`),
);

describe('parseCommand on arbitrary text', () => {
  it('never throws; answers with a command or with a problem naming what was wrong, and the usage', () => {
    fc.assert(
      fc.property(anyText, (raw) => {
        expectWellFormed(raw, parseCommand(raw));
      }),
      { numRuns: 6_000 },
    );
  });

  it('copes with very long text (up to ~200k characters), answering without throwing', () => {
    const long = fc
      .tuple(
        fc.constantFrom('request prod-db read 2h ', 'revoke req_1 ', 'extend req_1 30m ', 'status ', 'request ', 'list ', '', 'request prod-db read '),
        fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }), fc.constantFrom('x', ' ', '&amp;', '😀', '\n')),
        fc.integer({ min: 100, max: 25_000 }),
      )
      .map(([prefix, chunk, times]) => prefix + chunk.repeat(times));
    fc.assert(
      fc.property(long, (raw) => {
        expectWellFormed(raw, parseCommand(raw));
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------------------------------
// Well-formed requests, generated from the grammar.

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const name = fc.stringMatching(NAME);
const separator = fc.array(fc.constantFrom(...SEPARATORS), { minLength: 1, maxLength: 3 }).map((s) => s.join(''));

/** A duration the way people write it: units largest first, each at most once, zeros and leading zeros allowed. */
const duration = fc
  .record({
    totalSeconds: fc.integer({ min: MIN_DURATION_MS / SECOND, max: MAX_DURATION_MS / SECOND }),
    shares: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    writeZeros: fc.tuple(fc.boolean(), fc.boolean(), fc.boolean(), fc.boolean()),
    leadingZero: fc.boolean(),
    upper: fc.boolean(),
  })
  .map(({ totalSeconds, shares, writeZeros, leadingZero, upper }) => {
    let rest = totalSeconds;
    const take = (size: number, share: number) => {
      const n = Math.floor(share * Math.floor(rest / size));
      rest -= n * size;
      return n;
    };
    const amounts: [string, number][] = [
      ['d', take(86_400, shares[0])],
      ['h', take(3_600, shares[1])],
      ['m', take(60, shares[2])],
      ['s', 0],
    ];
    amounts[3]![1] = rest;
    let text = amounts
      .filter(([, n], i) => n > 0 || writeZeros[i])
      .map(([unit, n]) => `${leadingZero && n < 10 ? '0' : ''}${n}${unit}`)
      .join('');
    if (text === '') text = `${totalSeconds}s`;
    return { text: upper ? text.toUpperCase() : text, ms: totalSeconds * SECOND };
  });

/** Reasons as typed: any unicode, the characters Slack escapes, quotes, inner spacing and newlines kept. */
const reasonUnit = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('&', '<', '>', '&lt;', '&amp;', "'", '"', ';', '--', ' ', '  ', '\n', '\t', '<!here>', 'INC-4821') },
);
const reason = fc
  .string({ unit: reasonUnit, minLength: 1, maxLength: 250 })
  .map((r) => r.trim())
  // NUL is refused on purpose (PostgreSQL text cannot hold it); every other character comes back as typed.
  .filter((r) => r !== '' && r.length <= REASON_MAX_LENGTH && !r.includes('\u0000'));

describe('parseCommand on well-formed requests', () => {
  it('returns exactly the resource, role, duration and reason that were typed', () => {
    const request = fc.record({
      verb: fc.constantFrom('request', 'REQUEST', 'Request', 'rEqUeSt'),
      resource: name,
      role: name,
      duration,
      reason,
      seps: fc.tuple(separator, separator, separator, separator),
      lead: fc.constantFrom('', ' ', '\n', '\t '),
      trail: fc.constantFrom('', ' ', '\n', '  \t'),
    });
    fc.assert(
      fc.property(request, (r) => {
        const typed = `${r.lead}${r.verb}${r.seps[0]}${r.resource}${r.seps[1]}${r.role}${r.seps[2]}${r.duration.text}${r.seps[3]}${r.reason}${r.trail}`;
        expect(parseCommand(slackEscape(typed))).toEqual({
          ok: true,
          command: { kind: 'request', resource: r.resource, role: r.role, durationMs: r.duration.ms, reason: r.reason },
        });
      }),
      { numRuns: 3_000 },
    );
  });

  it('a reason one character over the limit is refused, naming its length', () => {
    fc.assert(
      fc.property(name, name, duration, fc.integer({ min: REASON_MAX_LENGTH + 1, max: 3 * REASON_MAX_LENGTH }), (resource, role, d, length) => {
        const result = parseCommand(`request ${resource} ${role} ${d.text} ${'é'.repeat(length)}`);
        expect(result).toMatchObject({ ok: false, problem: `the reason is ${length} characters; at most ${REASON_MAX_LENGTH} are allowed` });
      }),
      { numRuns: 500 },
    );
  });

  it('revoke returns the request id and the note as typed', () => {
    const requestId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
    fc.assert(
      fc.property(requestId, fc.option(reason, { nil: null }), separator, (id, note, sep) => {
        const typed = `revoke${sep}${id}${note === null ? '' : `${sep}${note}`}`;
        expect(parseCommand(slackEscape(typed))).toEqual({ ok: true, command: { kind: 'revoke', requestId: id, note } });
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('durations', () => {
  it('parseDuration(formatDuration(ms)) === ms for every whole-second window from the minimum to the ceiling', () => {
    fc.assert(
      fc.property(fc.integer({ min: MIN_DURATION_MS / SECOND, max: MAX_DURATION_MS / SECOND }), (seconds) => {
        const ms = seconds * SECOND;
        expect(parseDuration(formatDuration(ms))).toEqual({ ok: true, ms });
      }),
      { numRuns: 2_000 },
    );
  });

  it('formatDuration writes units largest first, each at most once, and never a zero unit', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: MAX_DURATION_MS / SECOND }), (seconds) => {
        const text = formatDuration(seconds * SECOND);
        expect(text).toMatch(/^(?:[1-9]\d*d)?(?:[1-9]\d*h)?(?:[1-9]\d*m)?(?:[1-9]\d*s)?$/);
        const [, d = '0', h = '0', m = '0', s = '0'] = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text) ?? [];
        expect(Number(h)).toBeLessThan(24);
        expect(Number(m)).toBeLessThan(60);
        expect(Number(s)).toBeLessThan(60);
        expect(Number(d) * DAY + Number(h) * HOUR + Number(m) * MINUTE + Number(s) * SECOND).toBe(seconds * SECOND);
      }),
      { numRuns: 1_000 },
    );
  });
});
