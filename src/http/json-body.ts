import { isUtf8 } from 'node:buffer';
import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies must be UTF-8 (RFC 8259): Fastify's own parser decodes invalid bytes as U+FFFD and would
 * store them so. Here the raw bytes are checked first (one native pass), then Fastify's parser, with its
 * prototype-poisoning guard, reads them.
 */
export function acceptOnlyUtf8Json(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    const bytes = body as Buffer;
    // An empty body is no body (Fastify's parser refuses it with a 400): a bodiless POST reads as `{}`.
    if (bytes.length === 0) {
      done(null, undefined);
      return;
    }
    if (!isUtf8(bytes)) {
      done(Object.assign(new Error('Invalid JSON body: it is not valid UTF-8'), { statusCode: 400 }), undefined);
      return;
    }
    void parseJson(request, bytes.toString('utf8'), done);
  });
}
