import type { FastifyInstance, preValidationHookHandler } from 'fastify';

// A POST with nothing to say is read as `{}`: `curl -X POST` sends no body, and some clients send an empty
// one with `content-type: application/json`. A route whose body has required fields then names them
// ("Field required"), instead of answering "body must be object".
const emptyBodyAsObject: preValidationHookHandler = (request, _reply, done) => {
  if (request.body === undefined || request.body === null) request.body = {};
  done();
};

/** Call before the routes are registered: it adds the check to each route that takes a body. */
export function readMissingBodyAsEmpty(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    if (route.schema?.body === undefined) return;
    const existing = route.preValidation === undefined ? [] : Array.isArray(route.preValidation) ? route.preValidation : [route.preValidation];
    route.preValidation = [emptyBodyAsObject, ...existing];
  });
}
