import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SilentHttpServer {
  url: string;
  /** The requests received so far (none is ever answered). */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/** An HTTP server on 127.0.0.1 that accepts every request and never answers: a hung AWS endpoint. */
export async function startSilentHttpServer(): Promise<SilentHttpServer> {
  const requests: IncomingMessage[] = [];
  const server = createServer((request) => {
    requests.push(request);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Settings under which SDK clients built now send to these endpoints, with made-up credentials; returns the undo. */
export function pointAwsAt(endpoints: { DYNAMODB?: string; EC2?: string }): () => void {
  const settings: Record<string, string> = {
    ...Object.fromEntries(
      Object.entries(endpoints).map(([service, url]) => [`AWS_ENDPOINT_URL_${service}`, url]),
    ),
    AWS_REGION: 'eu-west-1',
    AWS_ACCESS_KEY_ID: 'AKIDTESTONLY',
    AWS_SECRET_ACCESS_KEY: 'test-only',
    // The SDK's default is three attempts: one shows the bound of each.
    AWS_MAX_ATTEMPTS: '1',
  };
  const before = Object.fromEntries(Object.keys(settings).map((key) => [key, process.env[key]]));
  Object.assign(process.env, settings);
  return () => {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
}
