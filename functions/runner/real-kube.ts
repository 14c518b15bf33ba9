/** --kubeconfig: the stages' KubePort over a real API server, as a function's main wires it. */
import { KubeClient, loadKubeConfig } from '../../shared/kube/index.js';
import type { KubePort } from '../../shared/ports/kube.js';
import { kubePortAdapter } from '../adapters/kube.js';

export async function kubePortFromKubeconfig(file: string): Promise<KubePort> {
  const kc = loadKubeConfig({ kubeconfig: file });
  return kubePortAdapter(new KubeClient(kc, { fieldManager: 'ocm-knative-runner' }), 'runner');
}
