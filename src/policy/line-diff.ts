/**
 * A small line diff for policy versions: what changed between two texts, as unified-diff hunks (`@@ -a,b +c,d
 * @@`, then ` ` kept, `-` removed, `+` added lines) with a little context. Longest common subsequence over the
 * lines left after the common head and tail are set aside; policies are short, and a pathological pair (over
 * a few million line pairs in the middle) is shown as "all of it replaced" rather than computed slowly.
 */

export interface LineDiff {
  /** The unified hunks, one line each, without a trailing newline; empty when the texts are equal. */
  text: string;
  added: number;
  removed: number;
}

type Op = { kind: ' ' | '-' | '+'; line: string };

const CONTEXT = 2;
const MAX_CELLS = 4_000_000;

export function lineDiff(before: string, after: string): LineDiff {
  const ops = diffLines(splitLines(before), splitLines(after));
  const added = ops.filter((o) => o.kind === '+').length;
  const removed = ops.filter((o) => o.kind === '-').length;
  return { text: added + removed === 0 ? '' : hunks(ops).join('\n'), added, removed };
}

/** `+3 −1 lines`, for an audit entry or a log line. */
export function diffSummary(d: Pick<LineDiff, 'added' | 'removed'>): string {
  return d.added + d.removed === 0 ? 'no change' : `+${d.added} -${d.removed} lines`;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split(/\r?\n/);
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

function diffLines(a: string[], b: string[]): Op[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const midA = a.slice(head, a.length - tail);
  const midB = b.slice(head, b.length - tail);
  const keep = (lines: string[]): Op[] => lines.map((line) => ({ kind: ' ', line }));
  return [...keep(a.slice(0, head)), ...middle(midA, midB), ...keep(a.slice(a.length - tail))];
}

function middle(a: string[], b: string[]): Op[] {
  if (a.length * b.length > MAX_CELLS || a.length === 0 || b.length === 0) {
    return [...a.map((line): Op => ({ kind: '-', line })), ...b.map((line): Op => ({ kind: '+', line }))];
  }
  // lcs[i][j]: the longest common subsequence of a[i..] and b[j..], in one flat array.
  const width = b.length + 1;
  const lcs = new Uint32Array((a.length + 1) * width);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i * width + j] = a[i] === b[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i]! });
      i++;
      j++;
    } else if (lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!) {
      ops.push({ kind: '-', line: a[i++]! });
    } else {
      ops.push({ kind: '+', line: b[j++]! });
    }
  }
  while (i < a.length) ops.push({ kind: '-', line: a[i++]! });
  while (j < b.length) ops.push({ kind: '+', line: b[j++]! });
  return ops;
}

/** Groups changes with up to CONTEXT unchanged lines around them; hunks closer than that are merged. */
function hunks(ops: Op[]): string[] {
  const changed = ops.flatMap((o, k) => (o.kind === ' ' ? [] : [k]));
  const out: string[] = [];
  let k = 0;
  while (k < changed.length) {
    const start = Math.max(0, changed[k]! - CONTEXT);
    let end = changed[k]!;
    while (k + 1 < changed.length && changed[k + 1]! - end <= 2 * CONTEXT + 1) end = changed[++k]!;
    k++;
    const stop = Math.min(ops.length, end + CONTEXT + 1);
    // Line numbers (1-based) where the hunk starts in each text.
    const before = ops.slice(0, start);
    const oldStart = before.filter((o) => o.kind !== '+').length + 1;
    const newStart = before.filter((o) => o.kind !== '-').length + 1;
    const body = ops.slice(start, stop);
    const oldCount = body.filter((o) => o.kind !== '+').length;
    const newCount = body.filter((o) => o.kind !== '-').length;
    out.push(`@@ -${oldCount === 0 ? oldStart - 1 : oldStart},${oldCount} +${newCount === 0 ? newStart - 1 : newStart},${newCount} @@`);
    for (const o of body) out.push(`${o.kind}${o.line}`);
  }
  return out;
}
