import type { FastifyInstance } from 'fastify';
import pretty from 'pino-pretty';
import { redactUrl } from './logging.js';

/**
 * Development logs: pino-pretty as a stream in this thread (no transport worker to start or flush), one
 * line per log call with the time and level, without pid, hostname and request id.
 */
export function prettyStream(destination: NodeJS.WritableStream | number = 1) {
  return pretty({ destination, singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,reqId', sync: true });
}

/**
 * One line per request ("GET /events/3 200 4.2 ms") instead of Fastify's two. A GET that succeeded is at
 * debug: the box office polls every few seconds and would bury everything else (LOG_LEVEL=debug shows them).
 */
export function logOneLinePerRequest(app: FastifyInstance): void {
  app.addHook('onResponse', (request, reply, done) => {
    const status = reply.statusCode;
    const quiet = (request.method === 'GET' || request.method === 'HEAD') && status < 400;
    const level = status >= 500 ? 'error' : quiet ? 'debug' : 'info';
    request.log[level](`${request.method} ${redactUrl(request.url)} ${status} ${reply.elapsedTime.toFixed(1)} ms`);
    done();
  });
}
