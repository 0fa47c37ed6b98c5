export { createDashboard, type Dashboard, type DashboardOptions } from './serve.ts';
export { buildDashboard, type DashboardBundle } from './build.ts';
