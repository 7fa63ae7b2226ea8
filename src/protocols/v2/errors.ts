/** Maps any error to the v2 error body {"error": "..."} with the error's status and headers. */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { toHttpError } from '../../server/http-errors.js';

export function v2ErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): void {
  const err = toHttpError(error);
  if (err.statusCode >= 500 && err.code === 'FORJA_ERR_INTERNAL') request.log.error({ err: error }, 'unexpected error');
  for (const [name, value] of Object.entries(err.headers)) reply.header(name, value);
  void reply.code(err.statusCode).send({ error: err.message });
}
