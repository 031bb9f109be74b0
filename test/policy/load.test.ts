import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyFile, missingConnectionEnv } from '../../src/policy/load.js';

const EXAMPLE = fileURLToPath(new URL('../../examples/policy.yaml', import.meta.url));

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'accessbot-policy-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('loadPolicyFile', () => {
  it('loads the shipped example', async () => {
    const result = await loadPolicyFile(EXAMPLE);
    expect(result.ok).toBe(true);
    if (result.ok) expect(Object.keys(result.policy.resources['prod-db']?.roles ?? {})).toEqual(['read', 'write']);
  });

  it('names the file in schema errors', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, 'version: 2\nresources: {}\n');
    expect(await loadPolicyFile(path)).toEqual({ ok: false, errors: [`${path}: version: unsupported version 2; supported versions: 1`] });
  });

  it('reports a missing file in one line, not a stack trace', async () => {
    const path = join(dir, 'nope.yaml');
    const result = await loadPolicyFile(path);
    expect(result).toEqual({ ok: false, errors: [expect.stringMatching(/policy file not found/)] });
    expect(result.ok || result.errors[0]?.startsWith(`${path}: `)).toBe(true);
  });

  it('reports a directory clearly', async () => {
    expect(await loadPolicyFile(dir)).toEqual({ ok: false, errors: [`${dir}: is a directory; point ACCESS_POLICY at the policy file itself`] });
  });
});

describe('missingConnectionEnv', () => {
  it('names unset and empty variables by path, never printing values', async () => {
    const result = await loadPolicyFile(EXAMPLE);
    if (!result.ok) throw new Error(result.errors.join('\n'));
    expect(missingConnectionEnv(result.policy, {})).toEqual(['resources.prod-db.connection.env: environment variable PROD_DB_URL is not set']);
    expect(missingConnectionEnv(result.policy, { PROD_DB_URL: ' ' })).toEqual([
      'resources.prod-db.connection.env: environment variable PROD_DB_URL is empty',
    ]);
    expect(missingConnectionEnv(result.policy, { PROD_DB_URL: 'postgres://u:hunter2@h/db' })).toEqual([]);
  });
});
