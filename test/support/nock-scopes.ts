/**
 * The nock hooks every test of a provider over a faked HTTP API shares: no network but 127.0.0.1 while the
 * file runs, and after each test every scope handed to `track` is `done()` (each interceptor it set was
 * reached) and `nock.pendingMocks()` is empty (nothing set anywhere waits unreached); then all interceptors
 * are removed, whatever failed. Call `useNock()` once at the top of a test file.
 */
import nock from 'nock';
import { afterAll, afterEach, beforeAll, expect } from 'vitest';

export function useNock(): { track: <S extends nock.Scope>(scope: S) => S } {
  let scopes: nock.Scope[] = [];
  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterEach(() => {
    try {
      for (const scope of scopes) scope.done();
      expect(nock.pendingMocks()).toEqual([]);
    } finally {
      scopes = [];
      nock.cleanAll();
    }
  });
  afterAll(() => {
    nock.enableNetConnect();
  });
  return {
    track: (scope) => {
      scopes.push(scope);
      return scope;
    },
  };
}
