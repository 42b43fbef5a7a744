import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { readMetricsConfig } from '../../../ec2/metrics/config';
import { ConfigurationError } from '../../../shared/configuration';

describe('readMetricsConfig', () => {
  it('needs the namespace and region, and defaults the rest to an EC2 instance', () => {
    assert.deepEqual(readMetricsConfig({ METRICS_NAMESPACE: 'Cloudy/dev', AWS_REGION: 'eu-west-1' }), {
      METRICS_NAMESPACE: 'Cloudy/dev',
      AWS_REGION: 'eu-west-1',
      METRICS_INTERVAL_SECONDS: 60,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://169.254.169.254',
      PROC_ROOT: '/proc',
    });
  });

  it('names every missing or invalid setting at once', () => {
    assert.throws(
      () => readMetricsConfig({ METRICS_INTERVAL_SECONDS: 'soon' }),
      (error: unknown) =>
        error instanceof ConfigurationError &&
        ['METRICS_NAMESPACE', 'AWS_REGION', 'METRICS_INTERVAL_SECONDS'].every((key) =>
          error.message.includes(key),
        ),
    );
  });
});
