/** The dependencies every use case draws from; the composition root builds one of these. */
import type { ChatNotifier, Clock, IdentityDirectory, JobQueue, Logger, PolicySource, ProviderRegistry, RequestStore } from './ports.js';

export interface UseCaseDeps {
  store: RequestStore;
  queue: JobQueue;
  policy: PolicySource;
  providers: ProviderRegistry;
  directory: IdentityDirectory;
  notifier: ChatNotifier;
  clock: Clock;
  log: Logger;
  newId(): string;
}
