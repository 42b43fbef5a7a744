// The server sampler in a process of its own (started by sampler-client.ts), so that the harness's own work
// (writer, probes, the lease server) cannot delay a sample. Prints its report as one JSON line every 500 ms
// and a final one on SIGTERM.
import { startServerSampler } from './server-sampler';

const [dataDir, interval] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: sampler-process.ts DATA_DIR [INTERVAL_MS]');
const sampler = startServerSampler({ dataDir, intervalMs: Number(interval ?? 20) });
const print = () =>
  process.stdout.write(`${JSON.stringify({ ...sampler.report(), violations: sampler.violations() })}\n`);
const ticker = setInterval(print, 500);
process.once('SIGTERM', () => {
  clearInterval(ticker);
  sampler.stop();
  print();
  process.exit(0);
});
