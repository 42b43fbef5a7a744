import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';

/**
 * The `db` commands' real AWS clients (the rest of them receives clients as parameters). Run by a person, so the
 * SDK's standard retries with backoff apply (a throttled Describe call is retried rather than reported), and each
 * attempt is bounded so that a hung connection fails the command instead of holding the terminal. The SDK's
 * standard settings (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL_*) apply.
 */
export function createDbCommandClients(): { ec2: EC2Client; dynamodb: DynamoDBClient } {
  // throwOnRequestTimeout: without it the SDK only logs a warning when requestTimeout passes and keeps waiting.
  const settings = {
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  };
  return { ec2: new EC2Client(settings), dynamodb: new DynamoDBClient(settings) };
}
