import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { RequeueStack, type JwtAuthOptions } from './requeue-stack';

/** `-c jwtIssuer=... -c jwtAudience=a,b` switches the API from IAM to JWT authorization. */
const jwtFromContext = (app: App): JwtAuthOptions | undefined => {
  const issuer: unknown = app.node.tryGetContext('jwtIssuer');
  const audience: unknown = app.node.tryGetContext('jwtAudience');
  if (issuer === undefined && audience === undefined) return undefined;
  if (typeof issuer !== 'string' || !issuer || typeof audience !== 'string' || !audience) {
    throw new Error('Give both jwtIssuer and jwtAudience (comma-separated) as context values, or neither for IAM auth');
  }
  return { issuer, audience: audience.split(',').map((value) => value.trim()).filter(Boolean) };
};

const app = new App();
new RequeueStack(app, 'Requeue', {
  description: 'requeue: a serverless job queue (SQS, DynamoDB, Lambda, API Gateway)',
  jwt: jwtFromContext(app),
  // Without credentials (a synth in CI, say) these are unset and the stack
  // synthesizes environment-agnostic; `cdk deploy` fills them in.
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
// an unacknowledged AwsSolutions error fails the synth
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
