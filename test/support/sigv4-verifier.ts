import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A stand-in for API Gateway's IAM authorization, written from AWS's
 * description of Signature Version 4 and nothing of the signer's code
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html):
 * it recomputes each request's signature with the secret of the one
 * principal it knows, answers 403 as API Gateway does when it differs, and
 * forwards a request that checks out to the API behind it (the local
 * runtime), as API Gateway invokes the route's function.
 */

export interface Principal {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface VerifiedRequest {
  readonly method: string;
  /** As it came, percent-encoded, with its query string. */
  readonly url: string;
  readonly host: string;
  readonly signedHeaders: readonly string[];
  readonly authorization: string;
}

export interface SigV4Verifier {
  /** `http://127.0.0.1:<port>`: where the CLI connects (`--connect-to`). */
  readonly origin: string;
  /** Requests whose signature checked out, in order. */
  readonly verified: VerifiedRequest[];
  /** Requests refused, with why. */
  readonly refused: { url: string; reason: string }[];
  close(): Promise<void>;
}

const sha256Hex = (data: string | Buffer): string => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string): Buffer => createHmac('sha256', key).update(data).digest();

/** RFC 3986: every byte but the unreserved characters percent-encoded, in upper-case hex. */
const uriEncode = (text: string): string =>
  encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const decode = (text: string): string => decodeURIComponent(text.replace(/\+/g, ' '));

/** Services other than S3 encode each path segment of the (already encoded) path once more. */
const canonicalUri = (rawPath: string): string => rawPath.split('/').map(uriEncode).join('/') || '/';

const canonicalQuery = (rawQuery: string): string =>
  rawQuery
    .split('&')
    .filter((pair) => pair !== '')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      const value = eq === -1 ? '' : pair.slice(eq + 1);
      return [uriEncode(decode(key)), uriEncode(decode(value))] as const;
    })
    .sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0))
    .map(([key, value]) => `${key}=${value}`)
    .join('&');

const AUTHORIZATION = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([a-z0-9;-]+), ?Signature=([0-9a-f]{64})$/;

const readBody = (req: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });

/** Why the request's signature is not that principal's for `host` in `region`, or undefined when it is. */
const check = (req: IncomingMessage, body: Buffer, principal: Principal, host: string, region: string): string | undefined => {
  const header = req.headers.authorization;
  if (header === undefined) return 'no Authorization header';
  const match = AUTHORIZATION.exec(header);
  if (!match) return `Authorization is not a SigV4 header: ${header}`;
  const [, accessKeyId, date, signedRegion, service, signedHeaderList, signature] = match;
  if (accessKeyId !== principal.accessKeyId) return `unknown access key ${accessKeyId}`;
  if (signedRegion !== region) return `signed for region ${signedRegion}, not ${region}`;
  if (service !== 'execute-api') return `signed for service ${service}, not execute-api`;
  const amzDate = req.headers['x-amz-date'];
  if (typeof amzDate !== 'string' || !/^\d{8}T\d{6}Z$/.test(amzDate) || amzDate.slice(0, 8) !== date) return `bad X-Amz-Date ${amzDate}`;
  const signedAt = Date.UTC(+amzDate.slice(0, 4), +amzDate.slice(4, 6) - 1, +amzDate.slice(6, 8), +amzDate.slice(9, 11), +amzDate.slice(11, 13), +amzDate.slice(13, 15));
  if (Math.abs(Date.now() - signedAt) > 15 * 60_000) return 'signed more than 15 minutes away from now';
  const signedHeaders = signedHeaderList!.split(';');
  if (!signedHeaders.includes('host')) return 'the Host header is not signed';
  if (req.headers.host !== host) return `Host is ${req.headers.host}, not the API's ${host}`;
  if (principal.sessionToken !== undefined) {
    if (req.headers['x-amz-security-token'] !== principal.sessionToken) return 'missing or wrong X-Amz-Security-Token';
    if (!signedHeaders.includes('x-amz-security-token')) return 'the session token is not signed';
  }
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const canonicalHeaders = signedHeaders
    .map((name) => {
      const value = req.headersDistinct[name];
      if (value === undefined) return undefined;
      return `${name}:${value.map((v) => v.trim().replace(/\s+/g, ' ')).join(',')}\n`;
    });
  if (canonicalHeaders.includes(undefined)) return 'a signed header is missing from the request';
  const canonicalRequest = [
    req.method,
    canonicalUri(queryStart === -1 ? url : url.slice(0, queryStart)),
    canonicalQuery(queryStart === -1 ? '' : url.slice(queryStart + 1)),
    canonicalHeaders.join(''),
    signedHeaderList,
    sha256Hex(body),
  ].join('\n');
  const scope = `${date}/${region}/execute-api/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256Hex(canonicalRequest)].join('\n');
  const key = ['execute-api', 'aws4_request'].reduce(
    (k, part) => hmac(k, part),
    hmac(hmac(`AWS4${principal.secretAccessKey}`, date!), region),
  );
  const expected = Buffer.from(hmac(key, stringToSign).toString('hex'));
  const given = Buffer.from(signature!);
  if (!timingSafeEqual(expected, given)) return 'The request signature we calculated does not match the signature you provided';
  return undefined;
};

export const startSigV4Verifier = async (options: {
  principal: Principal;
  /** The API's host, as its URL names it: `abc123.execute-api.eu-west-1.amazonaws.com`. */
  host: string;
  region: string;
  /** Where verified requests go: the local runtime's URL. */
  forwardTo: string;
  /** A REST API's stage (`prod`): the first segment of every path, left out when forwarded, as API Gateway does. */
  stage?: string;
}): Promise<SigV4Verifier> => {
  const verified: VerifiedRequest[] = [];
  const refused: { url: string; reason: string }[] = [];
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const reason = check(req, body, options.principal, options.host, options.region);
      if (reason !== undefined) {
        refused.push({ url: req.url ?? '/', reason });
        // API Gateway's own answer to a request IAM refuses
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: reason }));
        return;
      }
      verified.push({
        method: req.method ?? '',
        url: req.url ?? '/',
        host: req.headers.host ?? '',
        signedHeaders: /SignedHeaders=([^,]+)/.exec(req.headers.authorization!)![1]!.split(';'),
        authorization: req.headers.authorization!,
      });
      const contentType = req.headers['content-type'];
      const url = req.url ?? '/';
      const prefix = options.stage === undefined ? '' : `/${options.stage}`;
      if (!url.startsWith(`${prefix}/`)) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ message: 'Not Found' }));
        return;
      }
      const answer = await fetch(`${options.forwardTo}${url.slice(prefix.length)}`, {
        method: req.method,
        headers: contentType ? { 'content-type': contentType } : {},
        body: body.length > 0 ? body : undefined,
      });
      const headers: Record<string, string> = { 'content-type': answer.headers.get('content-type') ?? 'application/json' };
      const cursor = answer.headers.get('x-next-cursor');
      if (cursor) headers['x-next-cursor'] = cursor;
      res.writeHead(answer.status, headers);
      res.end(Buffer.from(await answer.arrayBuffer()));
    })().catch((error: unknown) => {
      res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `verifier: ${String(error)}` }));
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return {
    origin: `http://127.0.0.1:${port}`,
    verified,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
