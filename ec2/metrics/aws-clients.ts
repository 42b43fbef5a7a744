import { AutoScalingClient } from '@aws-sdk/client-auto-scaling';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';

// The metrics reporter's real AWS clients (the rest of it receives clients as parameters, so tests pass mocked
// ones).

/**
 * Bounded requests, so that stopping never waits on a hung connection; the SDK's standard retries (with backoff
 * on throttling) still apply within one send.
 */
export function createCloudWatchClient(region: string): CloudWatchClient {
  return new CloudWatchClient({
    region,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000 },
  });
}

/** Finding the instance's Auto Scaling group once at start. */
export function createAutoScalingClient(region: string): AutoScalingClient {
  return new AutoScalingClient({ region });
}
