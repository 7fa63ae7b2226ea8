export { jobsRoutes, type JobsRoutesOptions } from './routes.js';
export { streamJobEvents, type EventStreamOptions } from './job-events-stream.js';
