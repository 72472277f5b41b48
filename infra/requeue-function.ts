import path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT, handlerEntry } from './project-root';

/**
 * How every function of ours is bundled. bench/bundles.ts bundles with the
 * same options, so the sizes it reports are the sizes that deploy.
 */
export const BUNDLING: BundlingOptions = {
  // esbuild from node_modules: synth needs neither Docker nor the network
  forceDockerBundling: false,
  format: OutputFormat.CJS,
  target: 'node22',
  minify: true,
  sourceMap: true,
  // stack traces map back to our files and lines; the sources themselves stay out of the zip
  sourcesContent: false,
  // The AWS SDK is bundled rather than taken from the runtime: the version we
  // test is the version that runs, and the bundle only carries the clients used.
  externalModules: [],
  // ES module builds of the SDK tree-shake far better than its CommonJS builds
  mainFields: ['module', 'main'],
};

/**
 * Lambda's own log records (START, END and REPORT of each invocation) are
 * INFO-level system logs: at WARN they are not sent to CloudWatch Logs, where
 * they would be most of a busy function's log bytes (bench/cost-model.ts).
 * Durations, errors and throttles stay in the functions' CloudWatch metrics.
 * `-c lambdaSystemLogLevel=INFO` brings the records back.
 */
export const DEFAULT_SYSTEM_LOG_LEVEL = 'WARN';
const SYSTEM_LOG_LEVELS: Record<string, lambda.SystemLogLevel> = {
  DEBUG: lambda.SystemLogLevel.DEBUG,
  INFO: lambda.SystemLogLevel.INFO,
  WARN: lambda.SystemLogLevel.WARN,
};

const systemLogLevel = (scope: Construct): lambda.SystemLogLevel => {
  const asked: unknown = scope.node.tryGetContext('lambdaSystemLogLevel') ?? DEFAULT_SYSTEM_LOG_LEVEL;
  const level = typeof asked === 'string' ? SYSTEM_LOG_LEVELS[asked.toUpperCase()] : undefined;
  if (!level) throw new Error(`lambdaSystemLogLevel must be one of ${Object.keys(SYSTEM_LOG_LEVELS).join(', ')}; got ${String(asked)}`);
  return level;
};

export interface RequeueFunctionProps {
  /** File name under lambda/handlers/, without extension. */
  readonly handler: string;
  readonly description: string;
  /** Settings the function reads at cold start (see lambda/adapters/config.ts). */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;
  /**
   * Memory also buys CPU, which is what a cold start spends its time on.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Concurrent executions set aside for this function alone, which are also
   * the most it may run at once.
   * @default - none: the function shares the account's unreserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A function of ours: a handler from lambda/handlers bundled locally by
 * esbuild, Node.js 22 on arm64 with source maps, its own log group with a
 * retention, and its own role that may write to that log group and nothing
 * else until the stack grants what its route needs.
 */
export class RequeueFunction extends Construct {
  public readonly function: NodejsFunction;
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: RequeueFunctionProps) {
    super(scope, id);

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // the log group is bounded by its retention; it should not outlive the stack
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role instead of Lambda's default one, whose managed policy
    // (AWSLambdaBasicExecutionRole) may write to every log group in the account.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `requeue ${props.handler}: ${props.description}`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry(props.handler),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      description: props.description,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.seconds(10),
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      role: this.role,
      logGroup: this.logGroup,
      // JSON, which log-level filtering needs; the handlers' lines are JSON already (Powertools Logger)
      loggingFormat: lambda.LoggingFormat.JSON,
      systemLogLevelV2: systemLogLevel(this),
      bundling: BUNDLING,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'requeue',
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
    });
    // wait for the role's policies too (not only the role), so a first
    // invocation can already log and reach what its route was granted
    this.function.node.addDependency(this.role);

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Node.js 22 is pinned on purpose: it is the runtime requeue is built and tested for (the local runtime ' +
        'and CI run the same major), and it is supported by Lambda until 2027. Moving to a newer runtime is a ' +
        'deliberate upgrade made here, in one place, together with the build target, not a silent drift.',
    });
  }
}
