import { Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { OpenApiDocument } from './openapi.ts';

export const SWAGGER_PAGE = '/swagger/index.html';

/**
 * `GET /openapi.json` (the document, serialised once) and Swagger UI at `/swagger/index.html`.
 *
 * Order matters: swagger-ui-dist ships an index.html of its own (the Petstore demo), so the page routes
 * come before the static files. The static files and `swagger-ui-init.js` come from
 * `serveFiles(spec)`, whose init script is bound to this document (`swaggerUi.serve` would share one
 * module-wide script between every app in the process).
 */
export function docsRoutes(spec: OpenApiDocument): Router {
  const router = Router();
  const json = JSON.stringify(spec);

  /**
   * @openapi
   * /openapi.json:
   *   get:
   *     operationId: getOpenApiDocument
   *     tags: [Documentation]
   *     summary: This OpenAPI 3.0 document
   *     description: >-
   *       Generated from the route files' `@openapi` blocks by swagger-jsdoc when the gateway starts
   *       (and by `npm run openapi` into `openapi.json`). Not rate limited.
   *     security: []
   *     responses:
   *       '200':
   *         description: The document
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { application/json: { schema: { type: object } } }
   */
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });

  const page = swaggerUi.setup(spec, { customSiteTitle: 'war-ticket API' });
  /**
   * @openapi
   * /swagger/index.html:
   *   get:
   *     operationId: getSwaggerUi
   *     tags: [Documentation]
   *     summary: Swagger UI showing this document
   *     description: >-
   *       Also served at `/swagger/`; `/swagger` redirects here. Its scripts and styles are under
   *       `/swagger/`. Not rate limited.
   *     security: []
   *     responses:
   *       '200':
   *         description: The Swagger UI page
   *         headers: { X-Request-Id: { $ref: '#/components/headers/XRequestId' } }
   *         content: { text/html: { schema: { type: string } } }
   */
  router.get(SWAGGER_PAGE, page);
  // `/swagger/` shows the page too (its assets are relative to it); `/swagger` redirects to the page.
  router.get('/swagger', (req, res, next) => (req.path.endsWith('/') ? page(req, res, next) : res.redirect(301, SWAGGER_PAGE)));
  router.use('/swagger', ...swaggerUi.serveFiles(spec));
  return router;
}
