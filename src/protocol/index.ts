export * from './error-body.js';
export * from './limits.js';
export * from './management-point.js';
export * from './paths.js';
export * from './server-locator.js';
export * from './reports.js';
export * from './status-ids.js';
export * from './command-line.js';
