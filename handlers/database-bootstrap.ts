// The databaseBootstrap function (databaseEngine aurora only): the DatabaseAppRole custom resource of
// resources/database-aurora.yml. Before the web tier starts, it creates the app's own PostgreSQL role in the new
// Aurora cluster, as the cluster's administrator, with the password of the secrets account's secret
// (docs/DEPLOY.md, "Credentials with Aurora"); on a stack update it sets that password again.
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import pg from 'pg';
import { z } from 'zod';
import { parseEnv } from '../shared/configuration';
import { crossAccountSecretProvider } from '../shared/database-access/connection-provider';
import { fileServerCa, verifyFullTls } from '../shared/database-access/server-tls';
import { createLogger } from '../shared/logger';
import { ensureAppRole } from './bootstrap/app-role';
import {
  createAccountSecretsManagerClient,
  createBootstrapSecretsManagerClient,
  createBootstrapStsClient,
} from './bootstrap/aws-clients';
import { handleBootstrapEvent } from './bootstrap/bootstrap';
import { type CustomResourceEvent, respond } from './bootstrap/custom-resource';

const logger = createLogger('database-bootstrap');
// The CA the writer is verified against (verify-full): the Lambda runtime's Amazon CA file (serverless.yml). Read
// per request, so that a missing setting is answered to CloudFormation as a failure like any other.
const caFile = z.object({ DB_CA_FILE: z.string().startsWith('/') });
const administratorSecret = z.object({ username: z.string().min(1), password: z.string().min(1) });

export const handler = (event: CustomResourceEvent) =>
  handleBootstrapEvent(event, {
    async readAdministrator(secretArn) {
      const { SecretString } = await createAccountSecretsManagerClient().send(
        new GetSecretValueCommand({ SecretId: secretArn }),
      );
      let value: unknown;
      try {
        value = JSON.parse(SecretString ?? '');
      } catch {
        // Not the parser's message: it quotes the text, which is a password.
        throw new Error(`the administrator's secret ${secretArn} is not JSON`);
      }
      const parsed = administratorSecret.safeParse(value);
      if (!parsed.success)
        throw new Error(`the administrator's secret ${secretArn} has no username and password`);
      return parsed.data;
    },
    async readApp(props) {
      const connection = await crossAccountSecretProvider({
        sts: createBootstrapStsClient(),
        secretsManagerFor: createBootstrapSecretsManagerClient,
        roleArn: props.SecretRoleArn,
        secretId: props.SecretId,
        secretRegion: props.SecretRegion,
        defaultHost: props.WriterHost,
      }).get();
      return { user: connection.user, password: connection.password, database: connection.database };
    },
    async ensure(props, administrator, app) {
      const ssl = verifyFullTls(await fileServerCa(parseEnv(caFile, 'database bootstrap').DB_CA_FILE).get());
      await ensureAppRole(async (database) => {
        const client = new pg.Client({
          host: props.WriterHost,
          port: props.Port,
          user: administrator.username,
          password: administrator.password,
          database,
          ssl,
          connectionTimeoutMillis: 10_000,
          statement_timeout: 15_000,
        });
        await client.connect();
        return client;
      }, app);
    },
    respond,
    logger,
  });
