/** The registry follows policy versions: new and changed resources get providers; removed ones keep theirs. */
import { describe, expect, it } from 'vitest';
import type { Policy, ResourcePolicy } from '../../src/domain/policy.js';
import { LiveProviderRegistry } from '../../src/providers/live-registry.js';

const resource = (env: string): ResourcePolicy => ({ provider: 'postgres', settings: { connection: { env } }, principal: 'email-local-part', roles: {} });
const policy = (resources: Record<string, ResourcePolicy>): Policy => ({ version: 1, admins: [], principals: {}, resources });
const env = { A_URL: 'postgres://bot@127.0.0.1:1/a', B_URL: 'postgres://bot@127.0.0.1:1/b' };

describe('LiveProviderRegistry', () => {
  it('keeps unchanged providers, builds new and changed ones, keeps removed ones for their revokes', async () => {
    const registry = LiveProviderRegistry.create(policy({ a: resource('A_URL') }), env);
    try {
      const a = registry.forResource('a');
      expect(() => registry.forResource('b')).toThrow('no provider for resource "b"');

      expect(registry.update(policy({ a: resource('A_URL'), b: resource('B_URL') }))).toEqual([]);
      expect(registry.forResource('a')).toBe(a);
      const b = registry.forResource('b');

      expect(registry.update(policy({ a: resource('B_URL') }))).toEqual([]);
      expect(registry.forResource('a')).not.toBe(a);
      expect(registry.forResource('b')).toBe(b); // removed from the policy, still there for revokes

      const problems = registry.update(policy({ a: resource('B_URL'), c: resource('C_URL') }));
      expect(problems).toEqual([expect.stringContaining('C_URL')]);
      expect(() => registry.forResource('c')).toThrow(/no provider for resource "c": .*C_URL/);
    } finally {
      await registry.close();
    }
  });

  it('fails at creation listing every problem, and checks a policy without keeping anything', () => {
    expect(() => LiveProviderRegistry.create(policy({ a: resource('NOPE_URL') }), env)).toThrow(/invalid provider configuration:[\s\S]*NOPE_URL/);
    expect(LiveProviderRegistry.problemsFor(policy({ a: resource('A_URL'), x: resource('X_URL') }), env)).toEqual([expect.stringContaining('X_URL')]);
  });
});
