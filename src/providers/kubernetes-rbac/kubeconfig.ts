/** Where the provider's kubeconfig comes from: the default places, or a variable holding a path or the content. */
import type { KubeConfig } from '@kubernetes/client-node';
import { PermanentProviderError } from '../../use-cases/ports.js';

export type KubeconfigSource = { kind: 'default' } | { kind: 'env'; variable: string; value: string };

/** The variable holds a kubeconfig's path or its content. The content is a secret: no error repeats it. */
export function loadKubeConfig(kc: KubeConfig, source: KubeconfigSource): void {
  if (source.kind === 'default') {
    kc.loadFromDefault();
    return;
  }
  try {
    if (isKubeconfigContent(source.value)) kc.loadFromString(source.value);
    else kc.loadFromFile(source.value);
  } catch {
    throw new PermanentProviderError(`the kubeconfig named by ${source.variable} cannot be loaded`);
  }
}

export function isKubeconfigContent(value: string): boolean {
  return value.includes('\n') || value.trimStart().startsWith('{');
}
