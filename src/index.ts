/** The `forja` package's public API. */
export { definePipeline, NonRetryableError } from './pipelines/define.js';
export type {
  InferRequest, InferResponse, InferInputTensor, InferOutputTensor, InferDatatype, TensorValue,
  ChatCompletionRequest, ChatCompletion, ChatMessageParam, ChatResponseFormat, ChatFinishReason, ModelCallOptions,
} from './pipelines/model-calls.js';
export type {
  PipelineDefinition, PipelineContext, StepTools, StepOptions, RetryPolicy, JobInfo, PipelineModels,
  ScheduleOptions, WebhookOptions, RetentionOptions,
} from './pipelines/define.js';
