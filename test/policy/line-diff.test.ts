import { describe, expect, it } from 'vitest';
import { diffSummary, lineDiff } from '../../src/policy/line-diff.js';

describe('lineDiff', () => {
  it('is empty for equal texts, whatever the final newline', () => {
    expect(lineDiff('a\nb\n', 'a\nb\n')).toEqual({ text: '', added: 0, removed: 0 });
    expect(diffSummary(lineDiff('a\n', 'a\n'))).toBe('no change');
  });

  it('shows a changed line with two lines of context and unified line numbers', () => {
    const before = ['1', '2', '3', '4', '5', '6', '7', '8'].join('\n');
    const after = ['1', '2', '3', '4', 'five', '6', '7', '8'].join('\n');
    expect(lineDiff(before, after).text.split('\n')).toEqual(['@@ -3,5 +3,5 @@', ' 3', ' 4', '-5', '+five', ' 6', ' 7']);
    expect(diffSummary(lineDiff(before, after))).toBe('+1 -1 lines');
  });

  it('separates distant changes into hunks and merges near ones', () => {
    const before = Array.from({ length: 20 }, (_, i) => `l${i}`);
    const after = before.map((l, i) => (i === 1 || i === 18 ? `${l}!` : l));
    const text = lineDiff(before.join('\n'), after.join('\n')).text;
    expect(text.split('\n').filter((l) => l.startsWith('@@'))).toEqual(['@@ -1,4 +1,4 @@', '@@ -17,4 +17,4 @@']);
  });

  it('diffs against nothing as every line added, and insertions keep their neighbours', () => {
    expect(lineDiff('', 'a\nb\n')).toEqual({ text: '@@ -0,0 +1,2 @@\n+a\n+b', added: 2, removed: 0 });
    expect(lineDiff('a\nc\n', 'a\nb\nc\n').text).toBe('@@ -1,2 +1,3 @@\n a\n+b\n c');
    expect(lineDiff('a\nb\nc\n', 'a\nc\n').text).toBe('@@ -1,3 +1,2 @@\n a\n-b\n c');
  });
});
