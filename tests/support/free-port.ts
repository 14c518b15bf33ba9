/**
 * A port for a service a test starts: asked of the kernel (port 0), never fixed, because other test runs share this
 * machine and its loopback addresses.
 */
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1. Ports handed out by this process are never handed out twice. */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        srv.close(() => {
          if (addr && typeof addr === 'object') resolve(addr.port);
          else reject(new Error('no port'));
        });
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}
