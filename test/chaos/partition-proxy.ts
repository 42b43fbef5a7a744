import { connect, createServer, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of the lease store, one per sidecar slot. Partitioned, it drops every open
 * connection and holds new ones silently (requests time out, as across a real network partition). Slowed, it
 * forwards requests at once but holds each answer back: a write the client gives up on is still applied.
 */
export interface PartitionProxy {
  port: number;
  setPartitioned(partitioned: boolean): void;
  /** Each answer (chunk) is delayed by a fresh draw of `delayMs()`, in order; undefined: no delay. */
  setAnswerDelay(delayMs: (() => number) | undefined): void;
  close(): Promise<void>;
}

export async function startPartitionProxy(targetPort: number): Promise<PartitionProxy> {
  let partitioned = false;
  let answerDelay: (() => number) | undefined;
  const open = new Set<Socket>();
  const server = createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    if (partitioned) return; // held, never answered
    // Answers leave in the order they came, each no earlier than its own delay.
    let releaseAtMs = 0;
    const upstream = connect(targetPort, '127.0.0.1', () => {
      client.pipe(upstream);
      upstream.on('data', (chunk: Buffer) => {
        releaseAtMs = Math.max(releaseAtMs, Date.now() + (answerDelay?.() ?? 0));
        const wait = releaseAtMs - Date.now();
        if (wait <= 0) client.write(chunk);
        else setTimeout(() => !client.destroyed && client.write(chunk), wait);
      });
      upstream.on('end', () => setTimeout(() => client.end(), Math.max(0, releaseAtMs - Date.now())));
    });
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    setAnswerDelay(delayMs) {
      answerDelay = delayMs;
    },
    setPartitioned(value) {
      partitioned = value;
      if (value) for (const socket of open) socket.destroy();
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
