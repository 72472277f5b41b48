import { Match } from 'aws-cdk-lib/assertions';
import { ROUTES, routeKey } from '../../lambda/routes';
import { BULK_ROUTES, DEFAULT_API_THROTTLING } from '../../infra/api-throttling';
import { stackTemplate, type Resource, type StackTemplate } from './stack-template';
import { synthRequeue } from './synth-stack';

let t: StackTemplate;

beforeAll(() => {
  t = stackTemplate(synthRequeue({}, { bundle: false }));
});

describe('HTTP API (infra/http-api.ts)', () => {
  it('has exactly one route per route-table entry, and nothing else', () => {
    const keys = t.ofType('AWS::ApiGatewayV2::Route').map(([, r]) => r.Properties.RouteKey as string);
    expect(keys.sort()).toEqual(ROUTES.map(routeKey).sort());
    expect(keys).toHaveLength(ROUTES.length);
  });

  it('requires IAM (SigV4) authorization on every route by default, none open', () => {
    for (const [, route] of t.ofType('AWS::ApiGatewayV2::Route')) {
      expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
    }
    t.template.resourcePropertiesCountIs('AWS::ApiGatewayV2::Route', { AuthorizationType: 'NONE' }, 0);
  });

  it('sends each route to the function built from its handler, with payload format 2.0', () => {
    for (const route of ROUTES) {
      const fn = t.resources[t.functionIdOf(route)]!;
      expect(fn.Properties.Description).toBe(route.description);
    }
    t.template.allResourcesProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      PayloadFormatVersion: '2.0',
    });
  });

  it('logs every request to an access log group with a retention', () => {
    t.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      AccessLogSettings: { DestinationArn: { 'Fn::GetAtt': [Match.anyValue(), 'Arn'] }, Format: Match.stringLikeRegexp('requestId') },
    });
  });
  it('throttles the stage, and each bulk route tighter on its own', () => {
    const [[stageId, stage]] = t.ofType('AWS::ApiGatewayV2::Stage') as [[string, Resource]];
    expect(stage.Properties.DefaultRouteSettings).toEqual({
      ThrottlingRateLimit: DEFAULT_API_THROTTLING.default.rateLimit,
      ThrottlingBurstLimit: DEFAULT_API_THROTTLING.default.burstLimit,
    });
    const expected = Object.fromEntries(
      BULK_ROUTES.map((key) => [
        key,
        { ThrottlingRateLimit: DEFAULT_API_THROTTLING.bulk.rateLimit, ThrottlingBurstLimit: DEFAULT_API_THROTTLING.bulk.burstLimit },
      ]),
    );
    expect(stage.Properties.RouteSettings).toEqual(expected);
    // route settings may only name routes that exist: the stage waits for them
    const dependsOn = (t.template.toJSON().Resources[stageId].DependsOn ?? []) as string[];
    for (const key of BULK_ROUTES) {
      const [routeId] = t.ofType('AWS::ApiGatewayV2::Route').find(([, r]) => r.Properties.RouteKey === key)!;
      expect(dependsOn).toContain(routeId);
    }
    expect(ROUTES.map(routeKey)).toEqual(expect.arrayContaining([...BULK_ROUTES]));
  });
});
