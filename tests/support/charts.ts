/**
 * A minimal Helm chart archive of any name and version (Chart.yaml with a description, values, one template): what
 * the snapshot and artifact-set tests package. The podinfo chart the test components carry is components.ts
 * `helmChart`; the sample graph's is fixtures/ocm/sample.ts `sampleChart`.
 */
import { tarOf } from './tar.js';

export async function minimalChart(name = 'mychart', version = '0.3.1'): Promise<Buffer> {
  return tarOf(
    {
      [`${name}/Chart.yaml`]: `apiVersion: v2\nname: ${name}\nversion: ${version}\ndescription: test chart\n`,
      [`${name}/values.yaml`]: 'replicas: 1\n',
      [`${name}/templates/cm.yaml`]: 'kind: ConfigMap\n',
    },
    { gzip: true },
  );
}
