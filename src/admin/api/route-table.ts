import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { InvalidRequestError } from '../../site/site-errors.js';
import type { AdminPrincipal, ObjectClass, Right } from '../identity/index.js';
import { principalOf, requireRight } from '../identity/index.js';
import type { AdminContext } from './admin-context.js';

/**
 * One declaration per admin endpoint: path, schemas, the right it needs and its handler. The same
 * table registers the Fastify routes and writes the OpenAPI document, so the two cannot drift.
 */
export interface AdminRoute<P extends z.ZodType, Q extends z.ZodType, B extends z.ZodType> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  /** The right checked before the handler runs; `instanceParam` names the path parameter of the instance. */
  right: { objectClass: ObjectClass; right: Right; instanceParam?: string } | 'any-authenticated';
  successStatus?: number;
  handler: (input: {
    context: AdminContext;
    principal: AdminPrincipal;
    params: z.output<P>;
    query: z.output<Q>;
    body: z.output<B>;
    request: FastifyRequest;
  }) => Promise<unknown>;
}

// The table holds routes of many shapes; each route's own types were checked where it was declared.
export type AnyAdminRoute = AdminRoute<z.ZodType, z.ZodType, z.ZodType>;

export function adminRoute<
  P extends z.ZodType = z.ZodObject,
  Q extends z.ZodType = z.ZodObject,
  B extends z.ZodType = z.ZodUnknown,
>(route: AdminRoute<P, Q, B>): AnyAdminRoute {
  return route;
}

export const adminApiPrefix = '/api/v1';

export function registerAdminRoutes(
  app: FastifyInstance,
  context: AdminContext,
  routes: readonly AnyAdminRoute[],
): void {
  for (const route of routes) {
    app.route({
      method: route.method,
      url: `${adminApiPrefix}${route.path}`,
      bodyLimit: 1024 * 1024,
      handler: async (request, reply) => {
        const principal = principalOf(request);
        const params = parseInput('path parameters', route.params ?? z.object({}), request.params);
        const query = parseInput('query', route.query ?? z.object({}), request.query);
        const body = route.body === undefined ? undefined : parseInput('body', route.body, request.body);
        if (route.right !== 'any-authenticated') {
          const paramName = route.right.instanceParam;
          const instance =
            paramName === undefined ? null : String((params as Record<string, unknown>)[paramName]);
          requireRight(principal, route.right.objectClass, instance, route.right.right);
        }
        const result = await route.handler({ context, principal, params, query, body, request });
        return reply.code(route.successStatus ?? 200).send(result);
      },
    });
  }
}

function parseInput<T extends z.ZodType>(where: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value ?? {});
  if (!parsed.success) throw new InvalidRequestError(`invalid ${where}: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}
