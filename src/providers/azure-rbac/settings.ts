/** The `provider: azure` settings in the policy file, and the provider definition built from them. */
import { z } from 'zod';
import type { ProviderDefinition } from '../definition.js';
import { isGuid } from './naming.js';
import { AzureRbacProvider } from './provider.js';

const ROLE_DEFINITION_ID = /^(\/[^/?#%\s'"]+)*\/providers\/Microsoft\.Authorization\/roleDefinitions\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const SCOPE_MESSAGE = 'must be an Azure scope like /subscriptions/<id>/resourceGroups/<group>';
const scopeSetting = z
  .string()
  .regex(/^\/?([^/?#%\s'"]+\/)*[^/?#%\s'"]+\/?$/, { error: SCOPE_MESSAGE })
  .refine((scope) => !scope.split('/').some((segment) => segment === '.' || segment === '..'), { error: SCOPE_MESSAGE });
const roleDefinition = z.string().refine((id) => isGuid(id) || ROLE_DEFINITION_ID.test(id), {
  error: 'must be a role definition id (a GUID) or its full resource id (…/providers/Microsoft.Authorization/roleDefinitions/<GUID>)',
});

/**
 * `provider: azure`: `scope`, `role_definitions: { <grant>: <role definition id> }` (the roles' `grants`
 * name its keys), optional `mode: assignment | pim`. No secrets: the credential comes from the environment
 * through `DefaultAzureCredential`.
 */
const settingsSchema = z.object({
  scope: scopeSetting,
  role_definitions: z.record(z.string().min(1), roleDefinition).refine((r) => Object.keys(r).length > 0, {
    error: 'list at least one grant name and its role definition id',
  }),
  mode: z.enum(['assignment', 'pim'], { error: 'must be assignment (a plain role assignment) or pim (a PIM assignment that expires)' }).default('assignment'),
});

export const azureProvider: ProviderDefinition = {
  name: 'azure',
  shape: settingsSchema.shape,
  envNames: () => [],
  create(settings) {
    const { scope, role_definitions, mode } = settingsSchema.parse(settings);
    return new AzureRbacProvider({ scope, roleDefinitions: role_definitions, mode });
  },
};
