/**
 * The nock set-up every AWS provider test shares: the real `@aws-sdk/client-*` pointed at a nocked endpoint
 * with static credentials, the reply helpers of the two wire protocols these providers meet, and the hooks
 * that keep each test honest.
 *
 * - `awsClient(endpoint, secret)`: the client options a provider takes (`credentials`, `endpoint`, one
 *   attempt, so the provider's own retry logic is what a test sees). The secret is signed with, never sent.
 * - Query protocol (IAM): a form-encoded POST to `https://iam.amazonaws.com/`, answered with XML in the
 *   2010-05-08 namespace; errors as `<ErrorResponse><Error><Type/><Code/><Message/></Error>`. `okXml`,
 *   `errorXml`, `esc`, `XML_HEADERS`, `capture` (the form parameters, raw body and headers of a request).
 * - JSON protocol (awsJson1_1, SSO Admin): `JSON_HEADERS`; the fakes build their bodies themselves.
 * - `useNock()` (from `nock-scopes.ts`): no network but 127.0.0.1 while the file runs; after each test every
 *   scope handed to `track` is `done()` and `nock.pendingMocks()` is empty, then all interceptors are removed.
 * - `useStatefulFake(make)`: in a describe whose every test talks to one stateful fake, a new fake each
 *   test; after it, the fake's interceptor was reached (`done()`), except in the contract's hostile-names
 *   test, where the provider must refuse before any request: there the fake must have seen no call at all.
 *
 * Left out: SigV4 verification (the tests read the Authorization header themselves where it matters), the
 * `ResponseMetadata` of anything but the RequestId, and every other protocol (REST-XML, REST-JSON).
 */
import nock from 'nock';
import { afterEach, beforeEach, expect } from 'vitest';
import { useNock } from './nock-scopes.js';

export { useNock };

export interface AwsClientOptions {
  credentials: { accessKeyId: string; secretAccessKey: string };
  endpoint: string;
  maxAttempts: number;
}

export const awsClient = (endpoint: string, secret: string): AwsClientOptions => ({
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: secret },
  endpoint,
  maxAttempts: 1,
});

/** A fresh stateful fake for each test of the enclosing describe (see the top of this file). */
export function useStatefulFake(make: () => { intercept(): nock.Scope; readonly calls: readonly unknown[] }): void {
  let fake: ReturnType<typeof make>;
  let scope: nock.Scope;
  beforeEach(() => {
    fake = make();
    scope = fake.intercept();
  });
  afterEach(({ task }) => {
    if (task.name.includes('hostile')) {
      expect(fake.calls).toEqual([]);
      // The fake's own interceptor is the one mock left, unreached on purpose: not a pending mock for `useNock`.
      expect(nock.pendingMocks()).toHaveLength(1);
      nock.cleanAll();
    } else scope.done();
  });
}

// ---- Query protocol (IAM) ----

export const IAM_ENDPOINT = 'https://iam.amazonaws.com';
export const IAM_NS = 'https://iam.amazonaws.com/doc/2010-05-08/';
export const XML_HEADERS: Record<string, string> = { 'content-type': 'text/xml' };
export type XmlReply = [number, string, Record<string, string>];

export const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** `<ActionResponse>` with `result` (the whole `<ActionResult>` element, or nothing) and a RequestId. */
export const okXml = (action: string, result = ''): string =>
  `<${action}Response xmlns="${IAM_NS}">${result}<ResponseMetadata><RequestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</RequestId></ResponseMetadata></${action}Response>`;
export const errorXml = (code: string, message: string, type = 'Sender'): string =>
  `<ErrorResponse xmlns="${IAM_NS}"><Error><Type>${type}</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>7a62c49f-EXAMPLE</RequestId></ErrorResponse>`;

export interface Captured {
  params: Record<string, string>;
  raw: string;
  headers: Record<string, string | string[] | undefined>;
}

/** A Query-protocol request as the fake sees it: its decoded form parameters, raw body and headers. */
export function capture(body: unknown, headers: Record<string, string | string[] | undefined>): Captured {
  const raw = typeof body === 'string' ? body : JSON.stringify(body);
  return { params: Object.fromEntries(new URLSearchParams(raw)), raw, headers };
}

// ---- JSON protocol (awsJson1_1) ----

export const JSON_HEADERS: Record<string, string> = { 'content-type': 'application/x-amz-json-1.1' };
