import type { FastifyInstance } from 'fastify';
import { adminAuthenticationHook, FailedLoginLimiter } from '../identity/index.js';
import type { AdminContext } from './admin-context.js';
import { auditRoutes } from './audit-routes.js';
import { boundaryRoutes } from './boundary-routes.js';
import { clientRoutes } from './client-routes.js';
import { collectionRoutes } from './collection-routes.js';
import { deploymentRoutes } from './deployment-routes.js';
import { directoryRoutes } from './directory-routes.js';
import { hierarchyRoutes } from './hierarchy-routes.js';
import { legacyClientRoutes } from './legacy-client-routes.js';
import { openApiDocument } from './openapi.js';
import { packageRoutes } from './package-routes.js';
import { adminApiPrefix, registerAdminRoutes, type AnyAdminRoute } from './route-table.js';
import { siteRoutes } from './site-routes.js';
import { siteSystemRoutes } from './site-system-routes.js';
import { statusRoutes } from './status-routes.js';

export const adminRoutes: readonly AnyAdminRoute[] = [
  ...siteRoutes,
  ...boundaryRoutes,
  ...clientRoutes,
  ...collectionRoutes,
  ...packageRoutes,
  ...deploymentRoutes,
  ...statusRoutes,
  ...directoryRoutes,
  ...hierarchyRoutes,
  ...legacyClientRoutes,
  ...auditRoutes,
  ...siteSystemRoutes,
];

/**
 * The admin API under /api/v1 (DESIGN.md section 7): every request authenticated, every route's
 * right checked, every change audited. The OpenAPI document is public (it holds no data).
 */
export async function registerAdminApi(app: FastifyInstance, context: AdminContext): Promise<void> {
  const document = openApiDocument(adminRoutes, context.version);
  app.get(`${adminApiPrefix}/openapi.json`, () => document);
  await app.register((scope, _options, done) => {
    const directory = context.directorySignIn;
    scope.addHook(
      'onRequest',
      adminAuthenticationHook(context.db, {
        limiter: new FailedLoginLimiter(),
        ...(directory === undefined ? {} : { directory }),
      }),
    );
    registerAdminRoutes(scope, context, adminRoutes);
    done();
  });
}
