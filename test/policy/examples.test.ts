/** The example policies in examples/ are documentation people copy: they must stay valid. */
import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadPolicyFile } from '../../src/policy/load.js';

const dir = new URL('../../examples/', import.meta.url);

describe('examples/*.yaml', () => {
  it.each(readdirSync(dir).filter((f) => f.endsWith('.yaml')))('%s is a valid policy', async (file) => {
    const result = await loadPolicyFile(new URL(file, dir).pathname);
    expect(result.ok ? [] : result.errors).toEqual([]);
  });
});
