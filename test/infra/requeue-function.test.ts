import { existsSync, readFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ROUTES } from '../../lambda/routes';
import { RequeueStack } from '../../infra/requeue-stack';
import { stackTemplate, type StackTemplate } from './stack-template';
import { cdkJsonContext, refTarget, synthRequeue } from './synth-stack';

/** A template synthesized with more context, handlers not bundled. */
const synthRequeueWithContext = (context: Record<string, unknown>) =>
  Template.fromStack(new RequeueStack(new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [], ...context } }), 'Requeue'));

let t: StackTemplate;

beforeAll(() => {
  // the one bundled synth of the infra tests, with the handlers bundled as `cdk synth` bundles them
  t = stackTemplate(synthRequeue({}, { bundle: true }));
});

describe('every function of ours (infra/requeue-function.ts)', () => {
  it('runs every function on nodejs22.x, arm64, with source maps, logging to its own group with a retention', () => {
    const logGroups = new Set<string>();
    for (const [, fn] of t.ofType('AWS::Lambda::Function')) {
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
      expect(fn.Properties.Environment.Variables.NODE_OPTIONS).toBe('--enable-source-maps');
      const logGroupId = refTarget(fn.Properties.LoggingConfig.LogGroup)!;
      expect(t.resources[logGroupId]!.Properties.RetentionInDays).toBeGreaterThan(0);
      logGroups.add(logGroupId);
    }
    expect(logGroups.size).toBe(ROUTES.length + 4);
  });

  it("logs JSON and leaves Lambda's own per-invocation records out, unless asked for them", () => {
    for (const [, fn] of t.ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'WARN' });
    }
    const info = synthRequeueWithContext({ lambdaSystemLogLevel: 'info' });
    for (const fn of Object.values(info.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogFormat: 'JSON', SystemLogLevel: 'INFO' });
    }
    expect(() => synthRequeueWithContext({ lambdaSystemLogLevel: 'loud' })).toThrow(
      'lambdaSystemLogLevel must be one of DEBUG, INFO, WARN; got loud',
    );
  });

  it('deploys bundles that esbuild built locally: minified code with a linked source map', () => {
    for (const [, fn] of t.ofType('AWS::Lambda::Function')) {
      const assetDir = path.join(t.synthesized.app.outdir, fn.Metadata!['aws:asset:path']);
      const code = readFileSync(path.join(assetDir, 'index.js'), 'utf8');
      expect(code).toMatch(/sourceMappingURL=index\.js\.map/);
      expect(existsSync(path.join(assetDir, 'index.js.map'))).toBe(true);
      // Everything is bundled, the SDK included: nothing is left to the runtime's copy.
      // signature-v4-crt is the SDK's optional native SigV4a signer, required lazily
      // and only for multi-region endpoints, which SQS and DynamoDB do not use.
      const required = [...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
      const packages = required.filter((m) => !isBuiltin(m) && m !== '@aws-sdk/signature-v4-crt');
      expect(packages).toEqual([]);
    }
  });
});
