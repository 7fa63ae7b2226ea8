/**
 * Open Inference Protocol v2 wire schemas (zod). The infer handler validates with these and
 * /openapi.json is generated from the same objects.
 */
import { z } from 'zod';
import { DATATYPES } from '../../inference/types.js';

const parameters = z.record(z.string(), z.unknown()).describe('Free-form parameters');

export const tensorMetadataSchema = z.object({
  name: z.string(),
  datatype: z.enum(DATATYPES),
  shape: z.array(z.number().int()).describe('-1 marks a dynamic dimension'),
});

export const inferInputSchema = z.object({
  name: z.string().min(1),
  shape: z.array(z.number().int().min(0).max(2 ** 31)),
  datatype: z.enum(DATATYPES),
  parameters: parameters.optional(),
  data: z.array(z.unknown()).optional().describe('Flat or nested row-major values; omitted when sent as binary data'),
});

export const requestedOutputSchema = z.object({
  name: z.string().min(1),
  parameters: parameters.optional(),
});

export const inferRequestSchema = z.object({
  id: z.string().optional(),
  parameters: parameters.optional(),
  inputs: z.array(inferInputSchema).min(1),
  outputs: z.array(requestedOutputSchema).min(1, 'outputs, when given, must name at least one output; leave it out to get all').optional(),
});

export const inferResponseSchema = z.object({
  model_name: z.string(),
  model_version: z.string().optional(),
  id: z.string().optional(),
  parameters: parameters.optional(),
  outputs: z.array(tensorMetadataSchema.extend({ parameters: parameters.optional(), data: z.array(z.unknown()).optional() })),
});

export const serverMetadataSchema = z.object({ name: z.string(), version: z.string(), extensions: z.array(z.string()) });

export const modelMetadataSchema = z.object({
  name: z.string(),
  versions: z.array(z.string()),
  platform: z.string(),
  inputs: z.array(tensorMetadataSchema),
  outputs: z.array(tensorMetadataSchema),
});

export const repositoryIndexRequestSchema = z.object({ ready: z.boolean().optional() });

export const repositoryIndexSchema = z.array(z.object({
  name: z.string(),
  version: z.string(),
  state: z.enum(['UNLOADED', 'LOADING', 'READY', 'UNLOADING', 'UNAVAILABLE']),
  reason: z.string(),
}));

/** The error body of v2 and the jobs API; `code` is the FORJA_ERR_… code of docs/errors.md. */
export const errorSchema = z.object({ error: z.string(), code: z.string() });

export type InferRequestBody = z.infer<typeof inferRequestSchema>;
