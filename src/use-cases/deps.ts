/** The dependencies every use case draws from; the composition root builds one of these. */
import type { ChatNotifier, Clock, IdentityDirectory, JobQueue, Logger, PolicySource, PolicyVersions, ProviderRegistry, RequestStore } from './ports.js';

export interface UseCaseDeps {
  store: RequestStore;
  queue: JobQueue;
  policy: PolicySource;
  /**
   * The stored policy versions, for editing the policy in chat (the Home tab): an apply through it is checked
   * against this process's variables and in force here at once. Absent in tests that do not edit the policy.
   */
  policyVersions?: PolicyVersions;
  providers: ProviderRegistry;
  directory: IdentityDirectory;
  notifier: ChatNotifier;
  clock: Clock;
  log: Logger;
  newId(): string;
}
