// dynalite in a process of its own (lease-store-server.ts, `ownProcess`): prints its port, serves until SIGTERM.
import { createRequire } from 'node:module';
import type { Server } from 'node:net';

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: { createTableMs: number }) => Server;
const server = dynalite({ createTableMs: 0 });
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
