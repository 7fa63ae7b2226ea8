/**
 * Who may call a route is declared on the route itself (`config.access`, see http/route-config.ts).
 * The decision is made on the matched route, not on the raw URL, so encodings, double slashes or
 * query strings cannot move a request into a more lenient rule: the access follows the handler
 * that will run. Deny by default, twice over:
 * - a route registered without an access level makes `app.ready()` (and so `listen`) fail, naming
 *   it: a new route cannot ship open by omission;
 * - a request that matched no route (a 404) needs `admin` while keys are on, so unknown URLs tell
 *   an anonymous caller nothing.
 */
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ACCESS_LEVELS, type Access } from '../http/route-config.js';

export type { Access } from '../http/route-config.js';

export function accessOf(request: FastifyRequest): Access {
  return request.routeOptions.config?.access ?? 'admin';
}

/** Whether the dashboard session cookie counts on this request's route (HEAD follows GET). */
export function acceptsSessionCookie(request: FastifyRequest): boolean {
  return request.routeOptions.config?.sessionCookie === true;
}

/**
 * Records every route registered from here on and checks, once all plugins are loaded, that each
 * declares a known access level. The check waits for onReady because plugins that register routes
 * we do not write (the /docs page) get their level from a hook of the plugin that wraps them,
 * which runs after this one. Returns the live list of routes (for tests and the OpenAPI document).
 */
export function requireRouteAccess(app: FastifyInstance): readonly RouteOptions[] {
  const routes: RouteOptions[] = [];
  app.addHook('onRoute', (route) => { routes.push(route); });
  app.addHook('onReady', async () => {
    const missing = routes.filter((r) => !ACCESS_LEVELS.includes(r.config?.access as Access));
    if (missing.length > 0) {
      const names = missing.map((r) => `${[r.method].flat().join(',')} ${r.url}`).join(', ');
      throw new Error(`every route must declare config.access (one of ${ACCESS_LEVELS.join(', ')}); missing on: ${names}`);
    }
  });
  return routes;
}
