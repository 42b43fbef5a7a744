// Run as the OS user that runs PostgreSQL by chaos.ts: the end-of-run data check needs the superuser (amcheck), who logs in
// only over the local socket by peer authentication (the application-role access model). Prints the result as JSON.
import pg from 'pg';
import { verifyData } from './verify-data';

const [socketDir, port, user, database, table] = process.argv.slice(2);
const client = new pg.Client({ host: socketDir, port: Number(port), user, database });
await client.connect();
try {
  process.stdout.write(`${JSON.stringify(await verifyData(client, table ?? ''))}\n`);
} finally {
  await client.end();
}
