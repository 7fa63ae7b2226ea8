/** Durable pipelines: the public API, the service, and the parts it is built from. */
export { definePipeline, NonRetryableError } from './define.js';
export type {
  InferRequest, InferResponse, InferInputTensor, InferOutputTensor, InferDatatype, TensorValue,
  ChatCompletionRequest, ChatCompletion, ChatMessageParam, ChatResponseFormat, ChatFinishReason, ModelCallOptions,
} from './model-calls.js';
export type {
  PipelineDefinition, PipelineContext, StepTools, StepOptions, RetryPolicy, JobInfo, PipelineModels,
  ScheduleOptions, WebhookOptions, RetentionOptions,
} from './define.js';
export { PipelineService, DEFAULT_MAX_INPUT_BYTES, type PipelineServiceOptions, type SubmitRequest, type PipelineInfo } from './service.js';
export { PipelineWorker, type WorkerOptions } from './worker.js';
export { runJob, type RunResult, type RunDeps } from './job-runner.js';
export { executeStep, StepFailedError } from './step-executor.js';
export { JobEvents, type JobEvent } from './job-events.js';
export { toJobView, toStepView, type JobView, type StepView } from './job-view.js';
export { loadPipelineDirectory, preparePipeline, type LoadedPipeline, type LoadFailure } from './pipeline-loader.js';
export { PipelineMetrics } from './pipeline-metrics.js';
export { Scheduler, scheduledPipelines } from './scheduler.js';
export { RetentionSweeper, DEFAULT_RETENTION } from './retention-sweeper.js';
export { parseCron, nextCronTick, cronMatches } from './cron.js';
export { resolveRetryPolicy, backoffDelay, isRetryable, DEFAULT_RETRY } from './retry-policy.js';
export { signWebhookBody, verifyWebhookSignature } from './webhook-signature.js';
export * from './queues/index.js';
