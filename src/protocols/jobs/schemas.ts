/** Wire schemas of the jobs API: the routes validate with them and /openapi.json is built from them. */
import { z } from 'zod';
import { JOB_STATES, MAX_LOG_PAGE, type JobState } from '../../pipelines/queues/backend.js';
import { MAX_DELAY_MS, MAX_IDEMPOTENCY_KEY_LENGTH } from '../../pipelines/submit-limits.js';

export const submitBody = z.object({
  pipeline: z.string().min(1),
  input: z.unknown().optional(),
  idempotencyKey: z.string().min(1).max(MAX_IDEMPOTENCY_KEY_LENGTH).optional(),
  priority: z.number().int().min(0).max(2_097_152).optional(),
  delayMs: z.number().min(0).max(MAX_DELAY_MS).optional(),
}).strict();

export const listQuery = z.object({
  pipeline: z.string().optional(),
  state: z.enum(JOB_STATES as [JobState, ...JobState[]]).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
  cursor: z.string().optional(),
});

/** GET /api/jobs/{id}/logs: the lines after `after` (a seq from the previous page's `next_after`), at most `limit`. */
export const logsQuery = z.object({
  after: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_LOG_PAGE).optional(),
});
