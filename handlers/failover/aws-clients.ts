import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * The failover controller's real AWS clients (the rest of it receives clients as parameters, so tests pass mocked
 * ones). Each request is bounded, so that one hung call cannot eat the run's time budget (./deadline.ts reserves
 * about one request); the SDK's standard settings (AWS_REGION, AWS_ENDPOINT_URL_*, credentials chain) apply.
 */
export function createFailoverClients(): { ec2: EC2Client; dynamodb: DynamoDBClient } {
  // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
  const requestHandler = { requestTimeout: 5_000, connectionTimeout: 2_000, throwOnRequestTimeout: true };
  // One attempt per call: a throttled or timed-out call is a transient error that the next run (at most a
  // minute later) retries, and the run's deadline reserve only has to cover one request, not a retry chain.
  const settings = { requestHandler, maxAttempts: 1 };
  return { ec2: new EC2Client(settings), dynamodb: new DynamoDBClient(settings) };
}
