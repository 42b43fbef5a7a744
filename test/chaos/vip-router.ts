import { connect, createServer, type Socket } from 'node:net';

/**
 * The virtual IP as clients meet it: a TCP port on 127.0.0.1 that forwards each new connection to the PostgreSQL
 * of the instance the emulated route table's VIP/32 route targets (`target()`, read from the EC2 emulator, so the
 * promoter's and the failover Lambda's ReplaceRoute are what move traffic). When the route moves, connections to
 * the old target are reset, as the new target answers the old flows' packets with RST.
 */
export async function startVipRouter(target: () => number | undefined) {
  const flows = new Set<{ client: Socket; upstream: Socket; port: number }>();
  const server = createServer((client) => {
    client.on('error', () => {});
    const port = target();
    if (port === undefined) {
      client.destroy(); // no route: the packet goes nowhere
      return;
    }
    const upstream = connect(port, '127.0.0.1');
    const flow = { client, upstream, port };
    flows.add(flow);
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      upstream.destroy();
      flows.delete(flow);
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    /** Called on every change of the route table. */
    reroute(): void {
      const port = target();
      for (const flow of flows) {
        if (flow.port !== port) {
          flow.client.destroy();
          flow.upstream.destroy();
        }
      }
    },
    async close(): Promise<void> {
      for (const flow of flows) flow.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
