// Entry point on a web instance (systemd runs the bundled form of this file).
import { createLogger } from '../shared/logger';
import { readWebConfig } from './config';
import { runWebApp } from './instance-supervisor';

const logger = createLogger('web');
try {
  await runWebApp(readWebConfig(), logger);
  process.exit(0);
} catch (error) {
  logger.fatal({ err: error }, 'web app failed');
  process.exit(1);
}
