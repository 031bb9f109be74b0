/**
 * The policy file's JSON Schema, generated from the zod schema (`schema.ts`) so editors can complete and check
 * a policy as it is typed (`# yaml-language-server: $schema=…` at the top of the file). The input side
 * (`io: 'input'`): what a person writes (`max_duration: 4h`), defaults optional. The zod schema stays the
 * only authority: refinements a JSON Schema cannot express (distinct approvers, durations' bounds) are
 * checked by `accessbot policy check` and at apply, not by the editor.
 *
 * `npm run schema` writes `schema/policy.schema.json`; a test fails when the committed file is stale.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { z } from 'zod';
import { policyFileSchema } from './schema.js';

export const POLICY_SCHEMA_PATH = fileURLToPath(new URL('../../schema/policy.schema.json', import.meta.url));

export function policyJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(policyFileSchema, { io: 'input', target: 'draft-2020-12', unrepresentable: 'any', reused: 'ref' }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'accessbot policy (format version 1)',
    description: 'Who may request which role on which resource, for how long, and who approves. Validate with `accessbot policy check <file>`.',
    ...rest,
  };
}

/** The file's exact text: stable key order, two-space indent, a final newline. */
export function renderPolicyJsonSchema(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}

// `tsx src/policy/json-schema.ts` (npm run schema) writes the file.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  writeFileSync(POLICY_SCHEMA_PATH, renderPolicyJsonSchema());
  process.stdout.write(`wrote ${POLICY_SCHEMA_PATH}\n`);
}
