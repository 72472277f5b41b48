import type { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { ROUTES, routeKey, type Route } from '../../lambda/routes';
import { BULK_ROUTES, DEFAULT_API_THROTTLING } from '../../infra/api-throttling';
import { userPoolOfIssuer } from '../../infra/rest-api';
import { LOCALSTACK_FREE_PLAN_RESOURCE_TYPES } from './localstack-free-plan';
import { refTarget, synthRequeue, type Synthesized } from './synth-stack';

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };

const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123xyz';

// one synth per mode, without bundling: these tests look at the API's shape
let iam: Synthesized;
let cognito: Synthesized;
beforeAll(() => {
  iam = synthRequeue({ apiType: 'rest' }, { bundle: false });
  cognito = synthRequeue({ apiType: 'rest', jwt: { issuer: COGNITO_ISSUER, audience: [] } }, { bundle: false });
});

const resourcesOf = (template: Template): Record<string, Resource> => template.toJSON().Resources;
const ofType = (template: Template, type: string) =>
  Object.entries(resourcesOf(template)).filter(([, r]) => r.Type === type);

/** The path of an AWS::ApiGateway::Resource, followed up through its parents. */
const pathOf = (resources: Record<string, Resource>, resourceRef: unknown): string => {
  const id = refTarget(resourceRef);
  if (!id || resources[id]?.Type !== 'AWS::ApiGateway::Resource') return '';
  const resource = resources[id]!;
  return `${pathOf(resources, resource.Properties.ParentId)}/${resource.Properties.PathPart as string}`;
};

/** `METHOD /path` of every method, with the method's properties. */
const methods = (template: Template): Map<string, Resource['Properties']> => {
  const resources = resourcesOf(template);
  return new Map(
    ofType(template, 'AWS::ApiGateway::Method').map(([, m]) => [
      `${m.Properties.HttpMethod as string} ${pathOf(resources, m.Properties.ResourceId)}`,
      m.Properties,
    ]),
  );
};

describe('REST API, IAM authorization (-c api=rest)', () => {
  it('has no API Gateway v2 resource: the HTTP API is not deployed beside it', () => {
    const v2 = Object.values(resourcesOf(iam.template)).filter((r) => r.Type.startsWith('AWS::ApiGatewayV2::'));
    expect(v2).toEqual([]);
    iam.template.resourceCountIs('AWS::ApiGateway::RestApi', 1);
  });

  it('has exactly one method per route-table entry, each requiring IAM', () => {
    const found = methods(iam.template);
    expect([...found.keys()].sort()).toEqual(ROUTES.map(routeKey).sort());
    for (const [key, method] of found) {
      expect({ key, auth: method.AuthorizationType }).toEqual({ key, auth: 'AWS_IAM' });
    }
    iam.template.resourceCountIs('AWS::ApiGateway::Authorizer', 0);
  });

  it("sends each method to its route's function through a Lambda proxy integration", () => {
    const found = methods(iam.template);
    for (const route of ROUTES) {
      const method = found.get(routeKey(route))!;
      expect(method.Integration).toMatchObject({ Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' });
      const uri = JSON.stringify(method.Integration.Uri);
      const functionId = iam.stack.getLogicalId(
        iam.stack.routeFunctions.get(route)!.function.node.defaultChild as never,
      );
      expect(uri).toContain(functionId);
    }
  });

  it('lets API Gateway invoke each function from its own method only', () => {
    const permissions = ofType(iam.template, 'AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === 'apigateway.amazonaws.com');
    expect(permissions).toHaveLength(ROUTES.length);
    for (const permission of permissions) {
      expect(permission).toMatchObject({ Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' });
      // execute-api:/<api>/<stage>/<METHOD>/<path>: no test-invoke-stage, no wildcard method
      expect(JSON.stringify(permission.SourceArn)).toMatch(/RestApiDeploymentStageprod[0-9A-F]+"\},"\/(GET|POST|DELETE)\/(jobs|openapi\.json)/);
    }
  });

  it('is a regional endpoint whose stage logs every request and throttles, tighter on the bulk routes', () => {
    iam.template.hasResourceProperties('AWS::ApiGateway::RestApi', { EndpointConfiguration: { Types: ['REGIONAL'] } });
    const [[, stage]] = ofType(iam.template, 'AWS::ApiGateway::Stage') as [[string, Resource]];
    expect(stage.Properties.StageName).toBe('prod');
    const accessLogsId = iam.stack.getLogicalId(iam.stack.node.findChild('ApiAccessLogs').node.defaultChild as never);
    expect(JSON.stringify(stage.Properties.AccessLogSetting.DestinationArn)).toContain(`{"Ref":"${accessLogsId}"}`);
    expect(stage.Properties.AccessLogSetting.Format).toContain('requestId');
    const settings = stage.Properties.MethodSettings as Record<string, unknown>[];
    expect(settings).toContainEqual(
      expect.objectContaining({
        HttpMethod: '*',
        ResourcePath: '/*',
        LoggingLevel: 'ERROR',
        DataTraceEnabled: false,
        ThrottlingRateLimit: DEFAULT_API_THROTTLING.default.rateLimit,
        ThrottlingBurstLimit: DEFAULT_API_THROTTLING.default.burstLimit,
      }),
    );
    const bulk = ROUTES.filter((r) => BULK_ROUTES.includes(routeKey(r)));
    expect(bulk.length).toBe(BULK_ROUTES.length);
    for (const route of bulk) {
      expect(settings).toContainEqual(
        expect.objectContaining({
          HttpMethod: route.method,
          // as CloudFormation's MethodSetting spells /resource/subresource: /~1resource~1subresource
          ResourcePath: `/${route.path.replace(/\//g, '~1')}`,
          ThrottlingRateLimit: DEFAULT_API_THROTTLING.bulk.rateLimit,
          ThrottlingBurstLimit: DEFAULT_API_THROTTLING.bulk.burstLimit,
        }),
      );
    }
    expect(DEFAULT_API_THROTTLING.bulk.rateLimit).toBeLessThan(DEFAULT_API_THROTTLING.default.rateLimit);
  });

  it("outputs the stage's URL as ApiUrl", () => {
    const [[stageId]] = ofType(iam.template, 'AWS::ApiGateway::Stage');
    const url = JSON.stringify(iam.template.findOutputs('ApiUrl').ApiUrl!.Value);
    expect(url).toContain('.execute-api.');
    expect(url).toContain(`{"Ref":"${stageId}"},"/"`);
  });

  it('alarms on the REST API\'s 5xx answers', () => {
    iam.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/ApiGateway',
      MetricName: '5XXError',
      Dimensions: [{ Name: 'ApiName', Value: 'requeue' }],
      Statistic: 'Sum',
    });
  });

  it('uses only resource types that LocalStack deploys on its free plan', () => {
    const types = [...new Set(Object.values(resourcesOf(iam.template)).map((r) => r.Type))].sort();
    expect(types.filter((type) => !LOCALSTACK_FREE_PLAN_RESOURCE_TYPES.includes(type))).toEqual([]);
    expect(types).toContain('AWS::ApiGateway::Method');
  });

  it('reports no unacknowledged cdk-nag AwsSolutions error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(iam.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });
});

describe('REST API, Cognito authorization (-c api=rest -c jwtIssuer=<user pool issuer>)', () => {
  it("authorizes every method with one Cognito user-pool authorizer for the issuer's pool", () => {
    const [[authorizerId, authorizer]] = ofType(cognito.template, 'AWS::ApiGateway::Authorizer') as [[string, Resource]];
    expect(authorizer.Properties).toMatchObject({
      Type: 'COGNITO_USER_POOLS',
      IdentitySource: 'method.request.header.Authorization',
    });
    expect(JSON.stringify(authorizer.Properties.ProviderARNs)).toContain(':cognito-idp:eu-west-1:');
    expect(JSON.stringify(authorizer.Properties.ProviderARNs)).toContain(':userpool/eu-west-1_AbC123xyz');
    const found = methods(cognito.template);
    expect(found.size).toBe(ROUTES.length);
    for (const [key, method] of found) {
      expect({ key, auth: method.AuthorizationType, by: method.AuthorizerId }).toEqual({
        key,
        auth: 'COGNITO_USER_POOLS',
        by: { Ref: authorizerId },
      });
    }
  });

  it('reports no unacknowledged cdk-nag AwsSolutions error or warning', () => {
    const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(cognito.app);
    expect(report.violations.map((v) => `${v.severity} ${v.ruleName}`)).toEqual([]);
  });

  it('reads the region and pool id of a Cognito issuer, and nothing from another issuer', () => {
    expect(userPoolOfIssuer(COGNITO_ISSUER)).toEqual({ region: 'eu-west-1', userPoolId: 'eu-west-1_AbC123xyz' });
    expect(userPoolOfIssuer('https://issuer.example.com/pool')).toBeUndefined();
    expect(userPoolOfIssuer(`${COGNITO_ISSUER}/`)).toBeUndefined();
  });

  it('refuses an issuer that is not a Cognito user pool, and an audience it could not check', () => {
    expect(() =>
      synthRequeue({ apiType: 'rest', jwt: { issuer: 'https://issuer.example.com', audience: [] } }, { bundle: false }),
    ).toThrow(/Cognito user-pool authorizer: give jwtIssuer as https:\/\/cognito-idp/);
    expect(() =>
      synthRequeue({ apiType: 'rest', jwt: { issuer: COGNITO_ISSUER, audience: ['cli'] } }, { bundle: false }),
    ).toThrow(/cannot check jwtAudience/);
  });
});

export type { Route };
