import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createFailoverClients,
  createLeaseDynamoDbClient,
  createSidecarEc2Client,
} from '../../../ec2/lib/aws-clients';

interface HandlerOptions {
  requestTimeout?: number;
  connectionTimeout?: number;
  throwOnRequestTimeout?: boolean;
}

/**
 * The options the client's HTTP handler will use. NodeHttpHandler resolves them into a private promise and only
 * exposes them publicly after its first request, so the test reads that promise (nothing is sent).
 */
async function handlerOptions(client: { config: { requestHandler: unknown } }): Promise<HandlerOptions> {
  const handler = client.config.requestHandler as { configProvider?: Promise<HandlerOptions> };
  assert.ok(handler.configProvider, 'the client uses a NodeHttpHandler');
  return handler.configProvider;
}

describe('aws-clients', () => {
  it('bounds every failover controller request and fails it when the bound passes, instead of only warning', async () => {
    // Prepare
    const { ec2, dynamodb } = createFailoverClients();
    // Act
    const options = await Promise.all([handlerOptions(ec2), handlerOptions(dynamodb)]);
    const attempts = await Promise.all([ec2.config.maxAttempts(), dynamodb.config.maxAttempts()]);
    // Assess
    assert.deepEqual(attempts, [1, 1]);
    for (const { requestTimeout, connectionTimeout, throwOnRequestTimeout } of options) {
      assert.deepEqual(
        { requestTimeout, connectionTimeout, throwOnRequestTimeout },
        { requestTimeout: 5_000, connectionTimeout: 2_000, throwOnRequestTimeout: true },
      );
    }
  });

  it('fails the database sidecar requests that outlive their bound', async () => {
    // Prepare
    const lease = createLeaseDynamoDbClient({ requestTimeoutMs: 1_500 });
    const ec2 = createSidecarEc2Client();
    // Act
    const [leaseOptions, ec2Options] = await Promise.all([handlerOptions(lease), handlerOptions(ec2)]);
    // Assess
    assert.equal(leaseOptions.requestTimeout, 1_500);
    assert.equal(leaseOptions.throwOnRequestTimeout, true);
    assert.equal(ec2Options.requestTimeout, 10_000);
    assert.equal(ec2Options.throwOnRequestTimeout, true);
  });
});
