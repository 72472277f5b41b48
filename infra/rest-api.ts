import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { Route } from '../lambda/routes';
import { DEFAULT_API_THROTTLING, isBulkRoute, type ApiThrottling } from './api-throttling';

/** A Cognito user pool's issuer URL: `https://cognito-idp.<region>.amazonaws.com/<pool id>`. */
const COGNITO_ISSUER = /^https:\/\/cognito-idp\.([a-z0-9-]+)\.amazonaws\.com\/([a-z0-9-]+_[A-Za-z0-9]+)$/;

/** The user pool behind a Cognito issuer URL, or undefined when the issuer is not a Cognito user pool. */
export const userPoolOfIssuer = (issuer: string): { region: string; userPoolId: string } | undefined => {
  const match = COGNITO_ISSUER.exec(issuer);
  return match ? { region: match[1]!, userPoolId: match[2]! } : undefined;
};

export interface RestRouteTarget {
  readonly route: Route;
  readonly function: lambda.IFunction;
}

export interface RequeueRestApiProps {
  readonly routes: readonly RestRouteTarget[];
  /** Where every request is logged. */
  readonly accessLogs: logs.ILogGroup;
  /**
   * Callers present an ID token of this Cognito user pool (its issuer URL)
   * instead of signing requests with SigV4. The pool is taken to be in the
   * stack's account.
   * @default - IAM: requests signed with SigV4 by a principal allowed execute-api:Invoke
   */
  readonly cognitoIssuer?: string;
  /**
   * @default DEFAULT_API_THROTTLING
   */
  readonly throttling?: ApiThrottling;
  /**
   * @default 'prod'
   */
  readonly stageName?: string;
}

/**
 * The route table as an API Gateway REST API: one Lambda proxy method per
 * route (payload format 1.0), each requiring IAM or a Cognito user-pool
 * token, a regional endpoint, access and error logs, and stage throttling
 * that is tighter on the bulk routes. LocalStack's free plan has REST APIs
 * but no HTTP APIs; on AWS the HTTP API stays the default.
 */
export class RequeueRestApi extends Construct {
  public readonly api: apigateway.RestApi;
  public readonly methods: ReadonlyMap<Route, apigateway.Method>;
  public readonly authorizer?: apigateway.CognitoUserPoolsAuthorizer;

  constructor(scope: Construct, id: string, props: RequeueRestApiProps) {
    super(scope, id);
    const throttling = props.throttling ?? DEFAULT_API_THROTTLING;
    const stageName = props.stageName ?? 'prod';

    // Stage-level settings go on every method; each bulk route gets its own
    // entry, restating the logging level, which an entry does not inherit.
    const methodOptions: Record<string, apigateway.MethodDeploymentOptions> = {};
    for (const { route } of props.routes) {
      if (!isBulkRoute(route)) continue;
      methodOptions[`${route.path}/${route.method}`] = {
        throttlingRateLimit: throttling.bulk.rateLimit,
        throttlingBurstLimit: throttling.bulk.burstLimit,
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
      };
    }

    this.api = new apigateway.RestApi(this, 'Api', {
      restApiName: 'requeue',
      description: 'requeue: enqueue jobs, inspect and retry failed ones',
      endpointConfiguration: { types: [apigateway.EndpointType.REGIONAL] },
      // API Gateway writes REST access logs only through the account's
      // CloudWatch role (one per account and region, kept when the stack goes)
      cloudWatchRole: true,
      deployOptions: {
        stageName,
        accessLogDestination: new apigateway.LogGroupLogDestination(props.accessLogs),
        accessLogFormat: apigateway.AccessLogFormat.jsonWithStandardFields(),
        // errors only: full execution logs would copy job data into a log group without a retention
        loggingLevel: apigateway.MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: throttling.default.rateLimit,
        throttlingBurstLimit: throttling.default.burstLimit,
        methodOptions,
      },
    });

    if (props.cognitoIssuer !== undefined) {
      const pool = userPoolOfIssuer(props.cognitoIssuer);
      if (!pool) {
        throw new Error(
          `A REST API checks tokens with a Cognito user-pool authorizer: give jwtIssuer as ` +
            `https://cognito-idp.<region>.amazonaws.com/<user pool id>, not ${props.cognitoIssuer}`,
        );
      }
      const stack = Stack.of(this);
      const userPool = cognito.UserPool.fromUserPoolArn(
        this,
        'UserPool',
        stack.formatArn({ service: 'cognito-idp', region: pool.region, resource: 'userpool', resourceName: pool.userPoolId }),
      );
      this.authorizer = new apigateway.CognitoUserPoolsAuthorizer(this, 'Authorizer', { cognitoUserPools: [userPool] });
    }

    const methods = new Map<Route, apigateway.Method>();
    for (const { route, function: fn } of props.routes) {
      const resource = this.api.root.resourceForPath(route.path);
      const method = resource.addMethod(
        route.method,
        // the console's test invocations are not needed: one permission per method, not two
        new apigateway.LambdaIntegration(fn, { allowTestInvoke: false }),
        this.authorizer
          ? { authorizationType: apigateway.AuthorizationType.COGNITO, authorizer: this.authorizer }
          : { authorizationType: apigateway.AuthorizationType.IAM },
      );
      methods.set(route, method);
    }
    this.methods = methods;

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Requests are validated by the handlers, which answer every invalid one with the {error, code} body ' +
          "of requeue's HTTP contract; API Gateway's request validator would answer in a shape of its own.",
      },
      {
        id: 'AwsSolutions-APIG3',
        reason:
          'Every method requires IAM (SigV4) or a Cognito token and the stage is throttled. A WAF web ACL, ' +
          'billed per month and per request, is for deployments that face untrusted networks: associate one ' +
          'with the stage there.',
      },
      ...(this.authorizer
        ? []
        : [
            {
              id: 'AwsSolutions-COG4',
              reason:
                'Methods are authorized with IAM (SigV4) by default; deploying with -c jwtIssuer puts a Cognito ' +
                'user-pool authorizer on every method instead.',
            },
          ]),
    );
    Validations.of(this.api.node.findChild('CloudWatchRole')).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
      reason:
        "The account's API Gateway logging role, which REST access logs require, holds the managed policy " +
        'AmazonAPIGatewayPushToCloudWatchLogs that AWS documents for it; it serves every REST API of the ' +
        'account and region, so it cannot be narrowed to this one.',
    });
  }

  /** The stage's base URL, ending in `/`. */
  public get url(): string {
    return this.api.url;
  }

  /** Requests answered with a 5xx status. */
  public metricServerErrors(period: Duration = Duration.minutes(5)): cloudwatch.IMetric {
    return this.api.metricServerError({ period, statistic: cloudwatch.Stats.SUM });
  }
}
