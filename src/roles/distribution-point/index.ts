/** The distribution point role: package content over HTTP with byte ranges. */
export { distributionPointRoutes, distributionPointPrefix, type DistributionPointOptions } from './routes.js';
export { PackageCache } from './package-cache.js';
export { RangeNotSatisfiableError, distributionPointErrorClasses } from './errors.js';
export { decideRange, type RangeDecision } from './range.js';
