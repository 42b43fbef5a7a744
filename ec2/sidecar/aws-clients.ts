import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';

// The sidecar's real AWS clients (the rest of it receives clients as parameters, so tests pass mocked ones). The
// SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_*, credentials chain) apply.

/**
 * For the lease: one attempt per call with a short timeout, because the sidecar retries on its own schedule and
 * a request that hangs must not outlive the renew interval.
 */
export function createLeaseDynamoDbClient(options: {
  region?: string;
  requestTimeoutMs: number;
}): DynamoDBClient {
  return new DynamoDBClient({
    ...(options.region ? { region: options.region } : {}),
    maxAttempts: 1,
    requestHandler: {
      requestTimeout: options.requestTimeoutMs,
      connectionTimeout: options.requestTimeoutMs,
      // Without it the SDK only logs a warning and the request hangs on (a partitioned store is never answered).
      throwOnRequestTimeout: true,
    },
  });
}

/** For fencing a peer and moving the virtual-IP route. */
export function createSidecarEc2Client(region?: string): EC2Client {
  return new EC2Client({
    ...(region ? { region } : {}),
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 5_000, throwOnRequestTimeout: true },
  });
}
