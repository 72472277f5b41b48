import { App, Validations, type AppProps } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RequeueStack, type ApiType, type JwtAuthOptions } from './requeue-stack';

/** `-c api=rest` deploys a REST API instead of the HTTP API. */
const apiTypeFromContext = (app: App): ApiType => {
  const api: unknown = app.node.tryGetContext('api');
  if (api === undefined || api === 'http' || api === 'rest') return api ?? 'http';
  throw new Error(`The context value api is http (the default) or rest, not ${String(api)}`);
};

/**
 * `-c jwtIssuer=... -c jwtAudience=a,b` switches the API from IAM to JWT
 * authorization; with `-c api=rest` the issuer alone, a Cognito user pool's.
 */
const jwtFromContext = (app: App, apiType: ApiType): JwtAuthOptions | undefined => {
  const issuer: unknown = app.node.tryGetContext('jwtIssuer');
  const audience: unknown = app.node.tryGetContext('jwtAudience');
  if (issuer === undefined && audience === undefined) return undefined;
  const audiences = typeof audience === 'string' ? audience.split(',').map((a) => a.trim()).filter(Boolean) : [];
  if (apiType === 'rest' && typeof issuer === 'string' && issuer && audience === undefined) return { issuer, audience: [] };
  if (typeof issuer !== 'string' || !issuer || audiences.length === 0) {
    throw new Error(
      'Give both context values jwtIssuer and jwtAudience (comma-separated) for JWT authorization, or neither for IAM',
    );
  }
  return { issuer, audience: audiences };
};

/** The requeue app: the stack, checked by cdk-nag's AwsSolutions rules when it synthesizes. */
export const createApp = (props: AppProps = {}): App => {
  const app = new App(props);
  const apiType = apiTypeFromContext(app);
  const alarmEmail: unknown = app.node.tryGetContext('alarmEmail');
  new RequeueStack(app, 'Requeue', {
    description: 'requeue: a serverless job queue (SQS, DynamoDB, Lambda, API Gateway)',
    apiType,
    jwt: jwtFromContext(app, apiType),
    alarmEmail: alarmEmail === undefined ? undefined : String(alarmEmail),
    // Without credentials these are unset and the stack synthesizes
    // environment-agnostic; `cdk deploy` uses the CLI's account and region.
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  // an unacknowledged AwsSolutions error fails the synth
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
  return app;
};
