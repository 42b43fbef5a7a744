import { z } from 'zod';
import type { Logger } from '../../shared/logger';
import type { AppLogin } from './app-role';
import type { CustomResourceEvent, Outcome } from './custom-resource';

/** What resources/database-aurora.yml gives the DatabaseAppRole custom resource (strings, as CloudFormation sends them). */
const properties = z.object({
  WriterHost: z.string().min(1),
  Port: z.coerce.number().int().min(1).max(65535),
  MasterSecretArn: z.string().startsWith('arn:'),
  SecretRoleArn: z.string().startsWith('arn:'),
  SecretId: z.string().min(1),
  SecretRegion: z.string().min(1),
});
export type AppRoleProperties = z.infer<typeof properties>;

export interface AdministratorLogin {
  username: string;
  password: string;
}

export interface BootstrapDependencies {
  /** The cluster administrator's login, from the secret RDS keeps in this account. */
  readAdministrator(secretArn: string): Promise<AdministratorLogin>;
  /** The app's login, from the secrets account's secret (the same one the app reads). */
  readApp(props: AppRoleProperties): Promise<AppLogin>;
  /** Creates or updates the app's role on the writer, as the administrator. */
  ensure(props: AppRoleProperties, administrator: AdministratorLogin, app: AppLogin): Promise<void>;
  respond(event: CustomResourceEvent, outcome: Outcome): Promise<void>;
  logger: Logger;
}

/**
 * One request of CloudFormation for the DatabaseAppRole resource: Create and Update make the app's role match
 * the secret, Delete leaves the role (and the data it owns) to the cluster. Every request is answered, a failed
 * one with a reason that names what failed and never a password, so that the stack fails at once instead of
 * waiting an hour for an answer.
 */
export async function handleBootstrapEvent(
  event: CustomResourceEvent,
  deps: BootstrapDependencies,
): Promise<void> {
  let outcome: Outcome;
  try {
    if (event.RequestType === 'Delete') {
      outcome = {
        status: 'SUCCESS',
        physicalResourceId: event.PhysicalResourceId ?? event.LogicalResourceId,
      };
    } else {
      const parsed = properties.safeParse(event.ResourceProperties);
      if (!parsed.success) {
        throw new Error(
          `invalid properties: ${parsed.error.issues.map((issue) => issue.path.join('.')).join(', ')}`,
        );
      }
      const props = parsed.data;
      const [administrator, app] = await Promise.all([
        deps.readAdministrator(props.MasterSecretArn),
        deps.readApp(props),
      ]);
      await deps.ensure(props, administrator, app);
      deps.logger.info(
        { user: app.user, database: app.database, writer: props.WriterHost },
        'app role in place',
      );
      outcome = { status: 'SUCCESS', physicalResourceId: `${props.WriterHost}/${app.user}` };
    }
  } catch (error) {
    deps.logger.error({ err: error }, 'database bootstrap failed');
    outcome = { status: 'FAILED', reason: explain(error) };
  }
  await deps.respond(event, outcome);
}

/** The error's message and its causes' (the SDK's error names say most). */
function explain(error: unknown): string {
  let text = error instanceof Error ? error.message : String(error);
  let cause = error instanceof Error ? error.cause : undefined;
  while (cause instanceof Error) {
    text += `: ${cause.name}: ${cause.message}`;
    cause = cause.cause;
  }
  return text;
}
