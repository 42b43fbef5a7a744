// Entry point of the metrics reporter on a web instance (systemd runs the bundled form of this file,
// dist/metrics/main.mjs). A process of its own, so nothing here can take the web app down.
import { once } from 'node:events';
import { createLogger } from '../../shared/logger';
import { createAutoScalingClient, createCloudWatchClient } from './aws-clients';
import { readMetricsConfig } from './config';
import { resolveIdentity } from './instance-identity';
import { imdsV2Client } from './instance-metadata';
import { metricsPublisher } from './metrics-publisher';
import { readProcSample } from './read-proc';
import { startMetricsReporter } from './reporter';

const logger = createLogger('metrics');
try {
  const config = readMetricsConfig();
  const { identity, groupMissingReason } = await resolveIdentity(
    imdsV2Client({ endpoint: config.AWS_EC2_METADATA_SERVICE_ENDPOINT }),
    createAutoScalingClient(config.AWS_REGION),
  );
  if (groupMissingReason) logger.warn(groupMissingReason);
  const reporter = startMetricsReporter({
    readSample: () => readProcSample(config.PROC_ROOT),
    publisher: metricsPublisher({
      client: createCloudWatchClient(config.AWS_REGION),
      namespace: config.METRICS_NAMESPACE,
      logger,
    }),
    identity,
    intervalMs: config.METRICS_INTERVAL_SECONDS * 1000,
    logger,
  });
  logger.info({ ...identity, namespace: config.METRICS_NAMESPACE }, 'reporting metrics');
  await Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]);
  await reporter.stop();
  logger.info('stopped');
  process.exit(0);
} catch (error) {
  // Configuration or identity failed: exit non-zero and let systemd start the reporter again later.
  logger.fatal({ err: error }, 'metrics reporter failed');
  process.exit(1);
}
