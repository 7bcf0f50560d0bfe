import net from 'node:net';

/**
 * A loopback TCP proxy the test can cut and restore: a real network fault
 * between the server and its database, with no mock in between.
 */
export async function startTcpProxy(targetHost: string, targetPort: number, options: { localAddress?: string } = {}) {
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  let port = 0;

  async function up(): Promise<void> {
    if (server) return;
    server = net.createServer((client) => {
      // localAddress: connect from another loopback address (127.0.0.2), so the target sees a client that is not 127.0.0.1.
      const upstream = net.connect({ port: targetPort, host: targetHost, localAddress: options.localAddress });
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as net.AddressInfo).port;
  }

  /** Refuses new connections and drops the open ones, as a database host going away would. */
  async function down(): Promise<void> {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  }

  await up();
  return { port: () => port, up, down };
}
