import { buildOpenApiDocument } from '../openapi-document';
import { httpHandler, json } from './http';

let document: ReturnType<typeof buildOpenApiDocument> | undefined;

export const handler = httpHandler(async () => json(200, (document ??= buildOpenApiDocument())));
