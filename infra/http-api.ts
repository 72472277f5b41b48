import { Duration } from 'aws-cdk-lib';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer, HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { routeKey, type Route } from '../lambda/routes';
import { DEFAULT_API_THROTTLING, isBulkRoute, type ApiThrottling } from './api-throttling';

export interface HttpRouteTarget {
  readonly route: Route;
  readonly function: lambda.IFunction;
  /** The integration's construct id, unique in the stack. */
  readonly integrationId: string;
}

export interface RequeueHttpApiProps {
  readonly routes: readonly HttpRouteTarget[];
  /** Where the stage logs every request. */
  readonly accessLogs: logs.ILogGroup;
  /**
   * Callers present a JWT from this issuer, with one of these audiences.
   * @default - IAM: requests signed with SigV4 by a principal allowed execute-api:Invoke
   */
  readonly jwt?: { readonly issuer: string; readonly audience: readonly string[] };
  /**
   * @default DEFAULT_API_THROTTLING
   */
  readonly throttling?: ApiThrottling;
}

/**
 * The API Gateway HTTP API (payload format 2.0): one route per route-table
 * entry, every one authorized, a `$default` stage that logs each request and
 * throttles the bulk routes tighter than the rest.
 */
export class RequeueHttpApi extends apigw.HttpApi {
  public readonly stage: apigw.HttpStage;
  /** The API's base URL, ending in `/`. */
  public readonly stageUrl: string;

  constructor(scope: Construct, id: string, props: RequeueHttpApiProps) {
    if (props.jwt && props.jwt.audience.length === 0) {
      throw new Error('Give at least one jwtAudience for JWT authorization of the HTTP API');
    }
    super(scope, id, {
      apiName: 'requeue',
      description: 'requeue: enqueue jobs, inspect and retry failed ones',
      createDefaultStage: false,
      defaultAuthorizer: props.jwt
        ? new HttpJwtAuthorizer('JwtAuthorizer', props.jwt.issuer, { jwtAudience: [...props.jwt.audience] })
        : new HttpIamAuthorizer(),
    });
    const throttling = props.throttling ?? DEFAULT_API_THROTTLING;
    // beside the API, not under it: a stage's logical id follows its path, and a new `$default` stage would clash with the old
    this.stage = new apigw.HttpStage(scope, 'DefaultStage', {
      httpApi: this,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(props.accessLogs) },
      throttle: throttling.default,
    });
    // RouteSettings is plain JSON to CloudFormation: CDK passes its keys on as written
    const bulkRouteSettings: Record<string, { ThrottlingRateLimit: number; ThrottlingBurstLimit: number }> = {};
    for (const target of props.routes) {
      const [httpRoute] = this.addRoutes({
        path: target.route.path,
        methods: [apigw.HttpMethod[target.route.method]],
        integration: new HttpLambdaIntegration(target.integrationId, target.function),
      });
      if (!isBulkRoute(target.route)) continue;
      bulkRouteSettings[routeKey(target.route)] = {
        ThrottlingRateLimit: throttling.bulk.rateLimit,
        ThrottlingBurstLimit: throttling.bulk.burstLimit,
      };
      // a stage's route settings may only name routes that exist already
      this.stage.node.addDependency(httpRoute!);
    }
    (this.stage.node.defaultChild as apigw.CfnStage).routeSettings = bulkRouteSettings;
    this.stageUrl = this.stage.url;
  }

  /** 5xx answers, summed over five minutes. */
  metricServerErrors(): cloudwatch.Metric {
    return this.metricServerError({ period: Duration.minutes(5), statistic: 'Sum' });
  }
}
