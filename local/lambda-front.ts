/**
 * The local Lambda API, as far as requeue calls it: GetEventSourceMapping and
 * UpdateEventSourceMapping (`Enabled` alone) on the mappings of
 * local/event-source-mapping.ts, in Lambda's REST JSON protocol, so the
 * handlers that pause and resume the worker send the very requests they send
 * to Lambda. Every other request is answered as an operation it does not know.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MappingInUseError, type LocalEventSourceMapping } from './event-source-mapping';

const MAPPING_PATH = /^\/2015-03-31\/event-source-mappings\/([^/?]+)(?:\?.*)?$/;
/** An update's body is a few dozen bytes. */
const MAX_BODY_BYTES = 64 * 1024;

export interface LambdaFrontOptions {
  /** 0 picks a free port. */
  readonly port: number;
  readonly host: string;
  /** Let the process exit with the server open (a test's in-process stand-in). @default false */
  readonly unref?: boolean;
}

export interface LambdaFront {
  /** For AWS_ENDPOINT_URL_LAMBDA. */
  readonly endpoint: string;
  /** Answer for this mapping from now on (a mapping is made once its function is loaded, after the endpoint is known). */
  add(mapping: LocalEventSourceMapping): void;
  stop(): Promise<void>;
}

class LambdaApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const send = (response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void => {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  response.end(text);
};

/** An error as Lambda sends it: the type in `x-amzn-errortype`, which the SDK reads as the error's name. */
const sendError = (response: ServerResponse, error: LambdaApiError): void =>
  send(response, error.statusCode, { Type: 'User', Message: error.message }, { 'x-amzn-errortype': error.type });

const readJson = (request: IncomingMessage): Promise<unknown> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new LambdaApiError(413, 'RequestTooLargeException', 'The request body is too large for this operation.'));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text === '' ? {} : JSON.parse(text));
      } catch {
        reject(new LambdaApiError(400, 'InvalidParameterValueException', 'The request body is not valid JSON.'));
      }
    });
    request.on('error', reject);
  });

const updateOf = (body: unknown): { enabled?: boolean } => {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new LambdaApiError(400, 'InvalidParameterValueException', 'The request body must be a JSON object.');
  }
  const { Enabled, ...rest } = body as Record<string, unknown>;
  const others = Object.keys(rest);
  if (others.length > 0) {
    throw new LambdaApiError(
      400,
      'InvalidParameterValueException',
      `The local Lambda API changes only Enabled of an event source mapping, not ${others.join(', ')}.`,
    );
  }
  if (Enabled !== undefined && typeof Enabled !== 'boolean') {
    throw new LambdaApiError(400, 'InvalidParameterValueException', 'Enabled must be true or false.');
  }
  return Enabled === undefined ? {} : { enabled: Enabled };
};

export const startLambdaFront = async (options: LambdaFrontOptions): Promise<LambdaFront> => {
  const byUuid = new Map<string, LocalEventSourceMapping>();

  const answer = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const match = MAPPING_PATH.exec(request.url ?? '');
    if (!match || (request.method !== 'GET' && request.method !== 'PUT')) {
      request.resume();
      throw new LambdaApiError(
        404,
        'UnknownOperationException',
        `The local Lambda API answers only GetEventSourceMapping and UpdateEventSourceMapping, not ${request.method} ${request.url}.`,
      );
    }
    const uuid = decodeURIComponent(match[1]!);
    const mapping = byUuid.get(uuid);
    if (!mapping) {
      request.resume();
      throw new LambdaApiError(404, 'ResourceNotFoundException', `The resource you requested does not exist. (Event source mapping ${uuid})`);
    }
    if (request.method === 'GET') {
      request.resume();
      send(response, 200, mapping.configuration());
      return;
    }
    const { enabled } = updateOf(await readJson(request));
    try {
      send(response, 202, enabled === undefined ? mapping.configuration() : mapping.setEnabled(enabled));
    } catch (error) {
      if (error instanceof MappingInUseError) throw new LambdaApiError(400, 'ResourceInUseException', error.message);
      throw error;
    }
  };

  const server = createServer((request, response) => {
    answer(request, response).catch((error: unknown) => {
      if (error instanceof LambdaApiError) sendError(response, error);
      else sendError(response, new LambdaApiError(500, 'ServiceException', String((error as Error).stack ?? error)));
    });
  });
  if (options.unref) {
    server.unref();
    server.on('connection', (socket) => socket.unref());
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${options.host}:${port}`,
    add: (mapping) => void byUuid.set(mapping.uuid, mapping),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
};
