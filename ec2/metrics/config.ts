import { z } from 'zod';
import { parseEnv, positiveInt } from '../../shared/configuration';

/** Settings of the metrics reporter, read from the environment once at start (systemd's env file). */
const metricsConfig = z.object({
  /** CloudWatch namespace; the instance role may PutMetricData only into this one. */
  METRICS_NAMESPACE: z.string().min(1),
  /** Region of CloudWatch (the instance's region). */
  AWS_REGION: z.string().min(1),
  /** Seconds between readings; 60 matches CloudWatch's standard resolution and the scaling alarms. */
  METRICS_INTERVAL_SECONDS: positiveInt(60),
  /** Instance metadata service (IMDSv2); the variable is the one the AWS SDK reads too. */
  AWS_EC2_METADATA_SERVICE_ENDPOINT: z.url().default('http://169.254.169.254'),
  /** Where /proc is mounted. */
  PROC_ROOT: z.string().default('/proc'),
});

export function readMetricsConfig(env: NodeJS.ProcessEnv = process.env): z.output<typeof metricsConfig> {
  return parseEnv(metricsConfig, 'metrics reporter', env);
}
