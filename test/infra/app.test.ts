import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { ROUTES } from '../../lambda/routes';
import { PROJECT_ROOT } from '../../infra/project-root';
import { createApp } from '../../infra/requeue-app';
import { cdkJsonContext } from './synth-stack';

// These tests look at authorization and the app's wiring, not at bundles:
// skip esbuild (CDK's own switch for fast synths).
const context = (extra: Record<string, unknown> = {}) => ({
  ...cdkJsonContext(),
  'aws:cdk:bundling-stacks': [],
  ...extra,
});

const stackOf = (app: ReturnType<typeof createApp>): Stack => app.node.findChild('Requeue') as Stack;

const routes = (template: Template) =>
  Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as { Properties: Record<string, unknown> }[];

describe('the app (infra/requeue-app.ts)', () => {
  it('authorizes every route with IAM when no JWT issuer is given', () => {
    const template = Template.fromStack(stackOf(createApp({ context: context() })));
    expect(routes(template)).toHaveLength(ROUTES.length);
    for (const route of routes(template)) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 0);
  });

  it('authorizes every route with a JWT authorizer when jwtIssuer and jwtAudience are given', () => {
    const app = createApp({
      context: context({ jwtIssuer: 'https://issuer.example.com/pool', jwtAudience: 'dashboard, cli' }),
    });
    const template = Template.fromStack(stackOf(app));
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      IdentitySource: ['$request.header.Authorization'],
      JwtConfiguration: { Issuer: 'https://issuer.example.com/pool', Audience: ['dashboard', 'cli'] },
    });
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    expect(routes(template)).toHaveLength(ROUTES.length);
    for (const route of routes(template)) {
      expect(route.Properties).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    }
  });

  it('refuses an issuer without an audience, rather than deploying an API it did not mean to', () => {
    expect(() => createApp({ context: context({ jwtIssuer: 'https://issuer.example.com' }) })).toThrow(
      /both context values jwtIssuer and jwtAudience/,
    );
    expect(() => createApp({ context: context({ jwtIssuer: 'https://issuer.example.com', jwtAudience: ' , ' }) })).toThrow(
      /jwtAudience/,
    );
  });

  it('deploys the routes as a REST API, and no HTTP API, with -c api=rest', () => {
    const template = Template.fromStack(stackOf(createApp({ context: context({ api: 'rest' }) })));
    const types = Object.values(template.toJSON().Resources as Record<string, { Type: string }>).map((r) => r.Type);
    expect(types.filter((t) => t.startsWith('AWS::ApiGatewayV2::'))).toEqual([]);
    const methods = Object.values(template.findResources('AWS::ApiGateway::Method')) as { Properties: Record<string, unknown> }[];
    expect(methods).toHaveLength(ROUTES.length);
    for (const method of methods) expect(method.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('takes a Cognito issuer alone for the REST API, and refuses an API type it does not know', () => {
    const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz';
    const template = Template.fromStack(stackOf(createApp({ context: context({ api: 'rest', jwtIssuer: issuer }) })));
    template.hasResourceProperties('AWS::ApiGateway::Authorizer', { Type: 'COGNITO_USER_POOLS' });
    expect(() => createApp({ context: context({ api: 'websocket' }) })).toThrow(/api is http \(the default\) or rest, not websocket/);
  });

  it('subscribes -c alarmEmail to the alarm topic', () => {
    const template = Template.fromStack(stackOf(createApp({ context: context({ alarmEmail: 'ops@example.com' }) })));
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com' });
  });

  it('fails the synth on an AwsSolutions error: cdk-nag is applied to the app', () => {
    const app = createApp({ context: context() });
    // an unencrypted queue without a DLQ or a TLS-only policy breaks SQS2, SQS3 and SQS4
    new sqs.Queue(stackOf(app), 'CarelessQueue', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

describe("cdk.json's app command", () => {
  let outdir: string;
  beforeAll(() => {
    outdir = mkdtempSync(path.join(tmpdir(), 'requeue-cdk-out-'));
  });
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('synthesizes the stack as `npx cdk synth` runs it: offline, no Docker, no credentials', async () => {
    const { app } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { app: string };
    const env = { ...process.env };
    for (const name of Object.keys(env)) if (/^(AWS_|CDK_DEFAULT_)/.test(name)) delete env[name];
    // what the CLI hands an app: where to write, and the context it gathered
    env.CDK_OUTDIR = outdir;
    env.CDK_CONTEXT_JSON = JSON.stringify(context());
    await promisify(execFile)('sh', ['-c', app], { cwd: PROJECT_ROOT, env, timeout: 60_000 });
    const template = JSON.parse(readFileSync(path.join(outdir, 'Requeue.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string }>;
    };
    const types = Object.values(template.Resources).map((r) => r.Type);
    expect(types.filter((t) => t === 'AWS::ApiGatewayV2::Route')).toHaveLength(ROUTES.length);
    expect(types).toContain('AWS::Lambda::EventSourceMapping');
  }, 60_000);
});
