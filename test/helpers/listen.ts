// Starting and stopping the small servers tests make for themselves, on 127.0.0.1.
import type * as http from 'node:http';
import type { AddressInfo, Server } from 'node:net';

/** Listens on 127.0.0.1 at a free port; resolves with the base URL (`http://127.0.0.1:<port>`). */
export async function listenLocal(server: Server, scheme = 'http'): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Closes `server` and every connection it still holds. */
export function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
