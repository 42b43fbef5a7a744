// The failover controller in the fault suite's loop: the deployed handler (handlers/database-failover.ts, its
// configuration and clients read from the environment as in Lambda) invoked on a short schedule, one run at a
// time (reservedConcurrency 1), each with the function's 30 s budget (resources/failover-function-instances.yml).
// Bundled and started by chaos.ts with AWS_ENDPOINT_URL_EC2/_DYNAMODB pointing at the emulator and the lease store.
import { handler } from '../../handlers/database-failover';

const intervalMs = Number(process.argv[2] ?? 5_000);
const BUDGET_MS = 30_000;
let running = true;
process.once('SIGTERM', () => {
  running = false;
});
while (running) {
  const deadline = Date.now() + BUDGET_MS;
  try {
    await handler(
      { 'detail-type': 'Scheduled Event', source: 'aws.events', detail: {} },
      {
        awsRequestId: `chaos-${deadline}`,
        functionName: 'cloudy-chaos-databaseFailover',
        getRemainingTimeInMillis: () => deadline - Date.now(),
      },
    );
  } catch {
    // logged by the handler's summary line; the next scheduled run tries again, as in Lambda
  }
  await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
process.exit(0);
