/**
 * Building blocks of the policy file schema (`schema.ts`, `engine-schema.ts`): strict objects whose
 * unknown-key message suggests the key that was meant, and duration settings with their own bounds.
 */
import { z } from 'zod';
import { parseDuration } from '../domain/duration.js';

/** A strict object whose unknown-key message names the keys it does take, and the likely intended one. */
export function strict<T extends z.core.$ZodLooseShape>(shape: T, notAMapping?: string) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return unknownKeys(iss.keys, known);
      if (iss.code === 'invalid_type' && iss.input !== undefined && notAMapping) return notAMapping;
      return undefined;
    },
  });
}

function unknownKeys(keys: string[], known: string[]): string {
  const allowed = `allowed keys: ${known.join(', ')}`;
  if (keys.length !== 1) return `unknown keys ${keys.map((k) => JSON.stringify(k)).join(', ')}; ${allowed}`;
  const key = keys[0] ?? '';
  const guess = closest(key, known);
  return `unknown key ${JSON.stringify(key)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}; ${allowed}`;
}

/** The known key within edit distance 2 of a typo, if exactly one is nearest. */
function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(word.toLowerCase(), candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (row[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      next.push(Math.min((row[j] ?? 0) + 1, (next[j - 1] ?? 0) + 1, substitution));
    }
    row = next;
  }
  return row[b.length] ?? 0;
}

/** A duration setting with its own bounds, converted to milliseconds. */
export function interval(minMs: number, maxMs: number, off = false) {
  return z.string().transform((text, ctx): number | null => {
    if (off && text.trim() === 'off') return null;
    const parsed = parseDuration(text, { minMs, maxMs });
    if (!parsed.ok) {
      ctx.addIssue({ code: 'custom', message: parsed.problem });
      return z.NEVER;
    }
    return parsed.ms;
  });
}
