import { Sha256 } from '@aws-crypto/sha256-js';
import { fromNodeProviderChain } from '@aws-sdk/credential-providers';
import { SignatureV4 } from '@smithy/signature-v4';

/**
 * SigV4 for a deployed requeue: every route of the stack's API requires IAM
 * authorization by default (docs/deploying.md), so each request is signed
 * for the service `execute-api` with the operator's usual AWS credentials.
 */

/** `<api id>.execute-api.<region>.amazonaws.com` (`.com.cn` in China); a custom domain name names no region. */
const EXECUTE_API_HOST = /^[a-z0-9]+\.execute-api\.([a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$/;

/** The region an API Gateway URL's host names, or undefined when it is no execute-api host. */
export const executeApiRegionOf = (hostname: string): string | undefined => EXECUTE_API_HOST.exec(hostname.toLowerCase())?.[1];

export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
}

export interface SignableRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly port?: number;
  /** Percent-encoded once, as it goes on the wire. */
  readonly path: string;
  /** Decoded values: the signer encodes them as SigV4's canonical query wants. */
  readonly query: Record<string, string | string[]>;
  readonly headers: Record<string, string>;
  readonly body?: string;
}

export type RequestSigner = (request: SignableRequest) => Promise<Record<string, string>>;

/**
 * A signer for `region`, with credentials from the SDK's default chain
 * (environment, shared config and credentials files with their profiles and
 * SSO sessions, process credentials, web identity, container and instance
 * metadata): what the AWS CLI would use. The chain caches what it found and
 * refreshes credentials that expire. Answers the request's headers, signed.
 */
export const sigV4Signer = (region: string): RequestSigner => {
  const credentials = fromNodeProviderChain();
  const signer = new SignatureV4({
    service: 'execute-api',
    region,
    sha256: Sha256,
    credentials: async () => {
      try {
        return await credentials();
      } catch (error) {
        throw new CredentialsError(
          `No AWS credentials to sign the request with (${(error as Error).message}). Set AWS_PROFILE, run ` +
            '`aws sso login`, or export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; or pass --token for a JWT-protected API.',
          { cause: error },
        );
      }
    },
  });
  return async (request) => {
    const signed = await signer.sign({
      method: request.method,
      protocol: request.protocol,
      hostname: request.hostname,
      ...(request.port === undefined ? {} : { port: request.port }),
      path: request.path,
      query: request.query,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return signed.headers;
  };
};
