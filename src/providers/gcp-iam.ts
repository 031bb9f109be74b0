/**
 * Google Cloud "conditional role binding" provider: grants IAM roles on one project to one member, each in a
 * binding of its own whose IAM condition ends the access at the end of the window
 * (`request.time < timestamp("…")`), and removes those bindings again on revoke.
 *
 * The condition is the target-side lock: Google stops honouring the binding when the window ends even if our
 * revoke job never runs; revoke only ends access early and removes the clutter (a policy holds about 100
 * conditional bindings at most). Bindings are named by their condition title, `jit-<requestId>`, so each grant
 * is its own object: revoking one grant leaves another grant of the same role, and any access the member had
 * before (an unconditional binding, say), in place.
 *
 * Every change is a read-modify-write of the whole project policy (`getIamPolicy` with requested version 3,
 * `setIamPolicy` with `version: 3` and the etag just read): without version 3 a write drops every condition in
 * the policy, without the etag it overwrites a concurrent change. An etag conflict (409 ABORTED, 412) is
 * retried with a fresh read.
 *
 * The bot needs `resourcemanager.projects.getIamPolicy` and `setIamPolicy` on the project
 * (`roles/resourcemanager.projectIamAdmin`), which can grant any role: restrict the bot's own binding with a
 * condition on `api.getAttribute('iam.googleapis.com/modifiedGrantsByRole', [])`.
 *
 * The service-account key is a secret: it is parsed here once and handed to the auth library; no error or
 * message built here contains it, or the access token (see `describeGoogleError`).
 *
 * Where things are (src/providers/gcp-iam/):
 * - provider.ts: the provider: held, grant and revoke
 * - bindings.ts: the member and the `jit-<requestId>` condition derived from a request, and the binding edits
 * - client.ts: the project's IAM policy: read, read-modify-write with the etag, permission test
 * - drift.ts: `listGranted`, every binding of ours still in place
 * - check.ts: the read-only `accessbot provider check`
 * - errors.ts: Google API errors as safe text, permanent or retryable
 * - settings.ts: the `provider: gcp` settings, the credential JSON, and the provider definition
 */
export { GcpIamProvider } from './gcp-iam/provider.js';
export type { GcpIamProviderOptions } from './gcp-iam/client.js';
export { conditionOf, memberOf } from './gcp-iam/bindings.js';
export { describeGoogleError } from './gcp-iam/errors.js';
export { gcpProvider, parseCredentials } from './gcp-iam/settings.js';
