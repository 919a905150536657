import { z } from 'zod';
import { adminApiPrefix, type AnyAdminRoute } from './route-table.js';

/** The OpenAPI 3.1 document of the admin API, generated from the route table. */
export function openApiDocument(routes: readonly AnyAdminRoute[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = `${adminApiPrefix}${route.path.replace(/:([A-Za-z]+)/g, '{$1}')}`;
    const parameters = [...objectParameters(route.params, 'path'), ...objectParameters(route.query, 'query')];
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      parameters,
      responses: {
        [String(route.successStatus ?? 200)]: { description: 'Success' },
        '400': { $ref: '#/components/responses/Error' },
        '401': { $ref: '#/components/responses/Error' },
        '403': { $ref: '#/components/responses/Error' },
      },
      'x-steward-right':
        route.right === 'any-authenticated'
          ? 'any authenticated account'
          : `${route.right.right} on ${route.right.objectClass}`,
    };
    if (route.body !== undefined) {
      operation['requestBody'] = {
        required: true,
        content: {
          'application/json': { schema: z.toJSONSchema(route.body, { io: 'input', unrepresentable: 'any' }) },
        },
      };
    }
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Steward admin API', version },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { basic: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer' },
        basic: { type: 'http', scheme: 'basic' },
      },
      responses: {
        Error: {
          description: 'An error with a stable code (docs/errors.md)',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: {
                  error: {
                    type: 'object',
                    properties: {
                      code: { type: 'string' },
                      message: { type: 'string' },
                      retryable: { type: 'boolean' },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    paths,
  };
}

function objectParameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined || !(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>).map(([name, field]) => ({
    name,
    in: where,
    required: where === 'path' || !field.safeParse(undefined).success,
    schema: z.toJSONSchema(field, { io: 'input', unrepresentable: 'any' }),
  }));
}
