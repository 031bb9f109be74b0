/**
 * Every provider the policy may name, by `provider:` value. Adding a provider: write it behind the
 * `AccessProvider` port with its `ProviderDefinition`, and list it here.
 */
import { awsIamManagedProvider } from './aws-iam-managed.js';
import { awsIamProvider } from './aws-iam.js';
import { awsIdentityCenterProvider } from './aws-identity-center.js';
import { azureProvider } from './azure-rbac.js';
import type { ProviderDefinition } from './definition.js';
import { gcpProvider } from './gcp-iam.js';
import { kubernetesProvider } from './kubernetes-rbac.js';
import { mysqlProvider } from './mysql-role.js';
import { postgresProvider } from './postgres-role.js';

export const PROVIDER_CATALOG: readonly ProviderDefinition[] = [
  postgresProvider,
  gcpProvider,
  awsIamProvider,
  awsIamManagedProvider,
  awsIdentityCenterProvider,
  mysqlProvider,
  azureProvider,
  kubernetesProvider,
];

/** A Map, so a provider named `constructor` or `__proto__` cannot reach Object.prototype. */
const BY_NAME = new Map(PROVIDER_CATALOG.map((d) => [d.name, d]));

export function providerDefinition(name: string): ProviderDefinition | undefined {
  return BY_NAME.get(name);
}
