import { connect, createServer, type Socket } from 'node:net';

/**
 * The virtual IP as clients meet it: a TCP port on 127.0.0.1 that forwards each new connection to the PostgreSQL
 * of the instance the emulated route table's VIP/32 route targets (`target()`, read from the EC2 emulator, so the
 * promoter's and the failover Lambda's ReplaceRoute are what move traffic). When the route moves, the flows to the
 * old target are blackholed, not reset: a VPC route change silently drops the packets of established flows (the
 * new target has no socket for them and the old one no longer receives them), so nothing tells either end. Both
 * sockets stay open and every byte in either direction is discarded; only the client's own timeouts end the flow.
 * (The client's kernel still acknowledges what it sends to this proxy, so TCP keepalive and TCP_USER_TIMEOUT, which
 * rely on unanswered segments, cannot fire here: the emulation exercises the client's query and pool timeouts.)
 */
export async function startVipRouter(target: () => number | undefined) {
  const flows = new Set<{ client: Socket; upstream: Socket; port: number }>();
  const blackholed = new Set<Socket>();
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
      blackholed.delete(client);
    });
    upstream.on('close', () => {
      if (!blackholed.has(client)) client.destroy();
    });
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
        if (flow.port === port || blackholed.has(flow.client)) continue;
        blackholed.add(flow.client);
        flow.client.unpipe(flow.upstream);
        flow.upstream.unpipe(flow.client);
        flow.client.on('data', () => {}); // read and dropped, never answered
        // The old server never hears from this flow again (its side ends as an idle connection would).
        flow.upstream.destroy();
      }
    },
    async close(): Promise<void> {
      for (const flow of flows) flow.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
