/** The web dashboard: the Fastify plugin that serves it and the snapshot it streams. */
export { dashboardRoutes, SECURITY_HEADERS, type DashboardRoutesOptions } from './routes.js';
export { loginPage, type DashboardSecurity } from './login.js';
export { SnapshotBuilder, type SnapshotSources } from './snapshot.js';
export type { DashboardSnapshot, ModelRow, JobRow, StepRow, MachineSection, Banner } from './snapshot-types.js';
