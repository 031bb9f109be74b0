/** schema/policy.schema.json is generated from the zod schema (`npm run schema`); it must never go stale. */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { POLICY_SCHEMA_PATH, policyJsonSchema, renderPolicyJsonSchema } from '../../src/policy/json-schema.js';

describe('schema/policy.schema.json', () => {
  it('equals a fresh generation from the zod schema (run npm run schema after changing the policy format)', () => {
    expect(readFileSync(POLICY_SCHEMA_PATH, 'utf8')).toBe(renderPolicyJsonSchema());
  });

  it('describes what people write: required keys, every provider, strict objects', () => {
    const schema = policyJsonSchema() as { required: string[]; additionalProperties: unknown; properties: Record<string, any> };
    expect(schema.required).toEqual(['version', 'resources']);
    expect(schema.additionalProperties).toBe(false);
    const text = JSON.stringify(schema);
    for (const provider of ['postgres', 'gcp', 'aws-iam', 'kubernetes']) expect(text).toContain(`"const":"${provider}"`);
  });

  it('is named at the top of every example, for editors', () => {
    const dir = new URL('../../examples/', import.meta.url);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      expect(readFileSync(new URL(file, dir), 'utf8').split('\n')[0]).toBe('# yaml-language-server: $schema=../schema/policy.schema.json');
    }
  });
});
