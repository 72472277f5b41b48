/**
 * The local SQS endpoint: fauxqs, with the message move tasks it lacks
 * answered here (message-move-tasks.ts). Every other request goes to fauxqs
 * unchanged, byte for byte and with its Host header, so queue URLs still name
 * this endpoint's port.
 */
import { createServer, request as httpRequest, Agent, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import { MessageMoveTasks, SqsApiError, type Clock } from './message-move-tasks';

const MOVE_TASK_ACTIONS = new Set(['StartMessageMoveTask', 'ListMessageMoveTasks', 'CancelMessageMoveTask']);
/** The three actions' requests are a few hundred bytes; anything far larger is no such request. */
const MAX_ACTION_BODY_BYTES = 64 * 1024;

export interface SqsFrontOptions {
  /** fauxqs's own endpoint, e.g. http://127.0.0.1:4566 */
  readonly upstream: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  readonly region: string;
  /** @default the system clock */
  readonly clock?: Clock;
}

export interface SqsFront {
  readonly port: number;
  stop(): Promise<void>;
}

const readBody = (request: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_ACTION_BODY_BYTES) {
        reject(new SqsApiError('InvalidParameterValue', 'The request body is too large for this action.'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });

const sendJson = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/x-amz-json-1.0',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
};

/** An error as SQS's JSON protocol sends it, with the query-compatible code the SDK reads as `Code`. */
const sendError = (response: ServerResponse, error: SqsApiError): void =>
  sendJson(
    response,
    error.statusCode,
    { __type: `com.amazonaws.sqs#${error.code}`, message: error.message },
    { 'x-amzn-query-error': `${error.queryCode};Sender` },
  );

export const startSqsFront = async (options: SqsFrontOptions): Promise<SqsFront> => {
  const upstream = new URL(options.upstream);
  const agent = new Agent({ keepAlive: true });
  // made at the first move-task request: an SDK client made before the runtime sets its environment prints the SDK's Node.js notice
  let sqs: SQSClient | undefined;
  let tasks: MessageMoveTasks | undefined;
  const moveTasks = (): MessageMoveTasks => {
    sqs ??= new SQSClient({
      endpoint: options.upstream,
      region: options.region,
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      useQueueUrlAsEndpoint: false,
    });
    tasks ??= new MessageMoveTasks({ sqs, clock: options.clock });
    return tasks;
  };

  const answerMoveTask = async (action: string, request: IncomingMessage, response: ServerResponse): Promise<void> => {
    try {
      const text = await readBody(request);
      let body: unknown;
      try {
        body = text ? JSON.parse(text) : {};
      } catch {
        throw new SqsApiError('InvalidParameterValue', 'The request body is not valid JSON.');
      }
      sendJson(response, 200, await moveTasks().answer(action, body));
    } catch (error) {
      if (error instanceof SqsApiError) return sendError(response, error);
      process.stderr.write(`SQS ${action} failed: ${(error as Error).stack ?? String(error)}\n`);
      sendJson(response, 500, { __type: 'com.amazonaws.sqs#InternalError', message: 'We encountered an internal error. Please try again.' });
    }
  };

  const pass = (request: IncomingMessage, response: ServerResponse): void => {
    const forwarded = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
        agent,
      },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    forwarded.on('error', (error) => {
      if (response.headersSent) response.destroy(error);
      else sendJson(response, 502, { __type: 'com.amazonaws.sqs#ServiceUnavailable', message: `The SQS emulator did not answer: ${error.message}` });
    });
    // a client that goes away mid-request (an aborted long poll) takes its forwarded request with it
    response.on('close', () => {
      if (!response.writableFinished) forwarded.destroy();
    });
    request.pipe(forwarded);
  };

  const server: Server = createServer((request, response) => {
    const target = request.headers['x-amz-target'];
    const action = typeof target === 'string' && target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : undefined;
    if (request.method === 'POST' && action && MOVE_TASK_ACTIONS.has(action)) void answerMoveTask(action, request, response);
    else pass(request, response);
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(Object.assign(error, { port: options.port })));
    server.listen(options.port, options.host, () => resolve((server.address() as AddressInfo).port));
  });

  return {
    port,
    stop: async () => {
      await tasks?.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      agent.destroy();
      sqs?.destroy();
    },
  };
};
