// The same Express app as on the web instances, served by Lambda behind the ALB under /lambda.
import serverless from 'serverless-http';
import { createLogger, type LambdaContextLike, withInvocationLogging } from '../shared/logger';
import { readWebConfig } from '../web/config';
import { lambdaWebApp } from '../web/lambda-app';

const BASE_PATH = '/lambda';
const { app, migrateOnce } = lambdaWebApp(readWebConfig(), createLogger('api'), BASE_PATH);
const serve = serverless(app, { basePath: BASE_PATH });

export const handler = withInvocationLogging(async (event: object, context: LambdaContextLike) => {
  await migrateOnce();
  return serve(event, context);
});
