import { RegistryClient, type RegistryClientOptions, type RemoteRepository } from '../oci/index.js';
import { BaseOciStore } from './oci-store.js';

/** OciStore adapter over an OCI registry (the distribution client). */
export class RegistryStore extends BaseOciStore {
  readonly client: RegistryClient;
  readonly url: string;

  constructor(clientOrOptions: RegistryClient | RegistryClientOptions) {
    super();
    this.client = clientOrOptions instanceof RegistryClient ? clientOrOptions : new RegistryClient(clientOrOptions);
    this.url = this.client.baseUrl;
  }

  repository(name: string): RemoteRepository {
    return this.client.repository(name);
  }

  override async close(): Promise<void> {
    await this.client.close();
  }
}
