import { readFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PROJECT_ROOT } from '../../infra/project-root';
import { RequeueStack, type RequeueStackProps } from '../../infra/requeue-stack';

/** The feature flags and settings `npx cdk synth` applies, read from cdk.json. */
export const cdkJsonContext = (): Record<string, unknown> =>
  (JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export interface Synthesized {
  readonly app: App;
  readonly stack: RequeueStack;
  readonly template: Template;
}

/**
 * Build the stack in an app configured as cdk.json configures it and
 * synthesize it. `bundle: false` skips esbuild (CDK's own switch for fast
 * synths) for tests that only look at the template's shape.
 */
export const synthRequeue = (props: RequeueStackProps = {}, options: { bundle: boolean }): Synthesized => {
  const app = new App({
    context: {
      ...cdkJsonContext(),
      // asset paths in resource metadata, as the CLI asks for, so tests can open the bundles
      'aws:cdk:enable-asset-metadata': true,
      ...(options.bundle ? {} : { 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const stack = new RequeueStack(app, 'Requeue', props);
  return { app, stack, template: Template.fromStack(stack) };
};

type Json = Record<string, unknown>;

export interface Statement {
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
}

export const actionsOf = (statement: Statement): string[] =>
  ([] as string[]).concat(statement.Action ?? [], statement.NotAction ?? []);

/** Every policy statement in the template, wherever it sits, with the resource holding it. */
export const allStatements = (template: Template): { holder: string; type: string; statement: Statement }[] => {
  const found: { holder: string; type: string; statement: Statement }[] = [];
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties?: Json }>;
  for (const [holder, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    const documents = [
      props.PolicyDocument,
      props.AssumeRolePolicyDocument,
      ...((props.Policies as { PolicyDocument: unknown }[] | undefined) ?? []).map((p) => p.PolicyDocument),
    ].filter(Boolean) as { Statement: Statement[] }[];
    for (const document of documents) {
      for (const statement of document.Statement) found.push({ holder, type: resource.Type, statement });
    }
  }
  return found;
};

/** The logical id a `Ref` or `Fn::GetAtt` points at, if it is one. */
export const refTarget = (value: unknown): string | undefined => {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
  return v.Ref ?? v['Fn::GetAtt']?.[0];
};
