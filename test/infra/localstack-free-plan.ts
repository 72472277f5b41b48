/**
 * The CloudFormation resource types LocalStack deploys in its free plan (the
 * "Community image" table of its CloudFormation page), as far as requeue's
 * stack could use them:
 * https://docs.localstack.cloud/aws/services/cloudformation/ (Resources),
 * source localstack/localstack-docs src/content/docs/aws/services/cloudformation.mdx.
 * Types of its "Pro image" table are left out on purpose, among them
 * AWS::ApiGateway::Authorizer, every AWS::ApiGatewayV2::* type and every
 * AWS::Cognito::* type: a template with one of them loses that resource on
 * the free plan (or fails with CFN_IGNORE_UNSUPPORTED_RESOURCE_TYPES=0).
 */
export const LOCALSTACK_FREE_PLAN_RESOURCE_TYPES: readonly string[] = [
  'AWS::ApiGateway::Account',
  'AWS::ApiGateway::Deployment',
  'AWS::ApiGateway::Method',
  'AWS::ApiGateway::RequestValidator',
  'AWS::ApiGateway::Resource',
  'AWS::ApiGateway::RestApi',
  'AWS::ApiGateway::Stage',
  'AWS::CDK::Metadata',
  'AWS::CloudWatch::Alarm',
  'AWS::DynamoDB::Table',
  'AWS::Events::Rule',
  'AWS::IAM::Policy',
  'AWS::IAM::Role',
  'AWS::KMS::Key',
  'AWS::Lambda::EventInvokeConfig',
  'AWS::Lambda::EventSourceMapping',
  'AWS::Lambda::Function',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
  'AWS::SNS::Subscription',
  'AWS::SNS::Topic',
  'AWS::SNS::TopicPolicy',
  'AWS::SQS::Queue',
  'AWS::SQS::QueuePolicy',
];
