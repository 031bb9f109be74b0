/**
 * The error tests both IAM providers (inline policies, managed attachments) run against nock on the Query
 * protocol endpoint: an IAM error that is refused for good, an IAM error or a network failure that stays
 * retryable. Each helper sets up (or is handed) its interceptor and checks it was reached (`scope.done()`).
 */
import nock from 'nock';
import { expect } from 'vitest';
import { PermanentProviderError } from '../../src/use-cases/ports.js';
import { errorXml, IAM_ENDPOINT, XML_HEADERS } from './aws-nock.js';

/** One IAM error reply, as the `it.each` tables list it. */
export interface IamError {
  code: string;
  status: number;
  message: string;
  /** `Sender` (the default) or `Receiver`. */
  type?: string;
}

/**
 * `call` (answered by `scope`, which must be reached) fails for good: a PermanentProviderError naming the IAM
 * code and HTTP status and `mentions`, without `secret`, matching `says` when given, and with no `cause`.
 */
export async function expectIamRefusedForGood(
  call: () => Promise<unknown>,
  scope: nock.Scope,
  expected: { code: string; status: number; mentions: string; secret: string; says?: RegExp },
): Promise<void> {
  const error = await call().catch((e: unknown) => e);
  scope.done();
  expect(error).toBeInstanceOf(PermanentProviderError);
  expect((error as Error).message).toContain(`${expected.code} (HTTP ${expected.status})`);
  expect((error as Error).message).toContain(expected.mentions);
  expect((error as Error).message).not.toContain(expected.secret);
  if (expected.says) expect((error as Error).message).toMatch(expected.says);
  expect((error as { cause?: unknown }).cause).toBeUndefined();
}

/** Every one of `calls`, each answered by `error`, fails retryably and names the IAM code and HTTP status. */
export async function expectIamErrorRetryable(calls: (() => Promise<unknown>)[], error: IamError): Promise<void> {
  const scope = nock(IAM_ENDPOINT)
    .post('/')
    .times(calls.length)
    .reply(error.status, errorXml(error.code, error.message, error.type), XML_HEADERS);
  for (const call of calls) {
    const failure = await call().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Error);
    expect(failure).not.toBeInstanceOf(PermanentProviderError);
    expect((failure as Error).message).toContain(`${error.code} (HTTP ${error.status})`);
  }
  scope.done();
}

/** `call`, whose one request fails on the network (`socket hang up`), fails retryably. */
export async function expectNetworkFailureRetryable(call: () => Promise<unknown>): Promise<void> {
  const scope = nock(IAM_ENDPOINT).post('/').replyWithError('socket hang up');
  const error = await call().catch((e: unknown) => e);
  scope.done();
  expect(error).toBeInstanceOf(Error);
  expect(error).not.toBeInstanceOf(PermanentProviderError);
}
