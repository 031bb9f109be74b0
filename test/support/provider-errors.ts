/**
 * Shared checks for the database providers' error tests (PostgreSQL, MariaDB): the rejection of a call, a refusal
 * for good that names what it refused, an unreachable server that stays retryable, and no URL or password leaking
 * into an error's message, stack or JSON.
 */
import { expect } from 'vitest';
import { PermanentProviderError, type GrantTarget } from '../../src/use-cases/ports.js';

/** The rejection of `promise`, which must reject with an Error. */
export async function failure(promise: Promise<unknown>): Promise<Error> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

/** Neither the connection URL nor the password appears anywhere in `error`. */
export function expectNoSecret(error: Error, url: string, password: string): void {
  const text = `${error.message} ${error.stack ?? ''} ${JSON.stringify(error)}`;
  expect(text).not.toContain(url);
  expect(text).not.toContain(password);
}

/** `promise` rejects with a PermanentProviderError whose message names `mentions`, with no secret in it. */
export async function expectRefusedForGood(promise: Promise<unknown>, mentions: string, secret: { url: string; password: string }): Promise<Error> {
  const error = await failure(promise);
  expect(error).toBeInstanceOf(PermanentProviderError);
  expect(error.message).toContain(mentions);
  expectNoSecret(error, secret.url, secret.password);
  return error;
}

/**
 * A provider pointed at a closed port: its grant fails retryably with ECONNREFUSED, and neither its URL, the
 * password nor the host shows in the error. The provider is closed afterwards.
 */
export async function expectUnreachableRetryable(
  unreachable: { grant(target: GrantTarget): Promise<unknown>; close(): Promise<void> },
  target: GrantTarget,
  secret: { url: string; password: string; host: string },
): Promise<void> {
  try {
    const error = await failure(unreachable.grant(target));
    expect(error).not.toBeInstanceOf(PermanentProviderError);
    expect(error.message).toContain('ECONNREFUSED');
    expectNoSecret(error, secret.url, secret.password);
    expect(error.message).not.toContain(secret.host);
  } finally {
    await unreachable.close();
  }
}
