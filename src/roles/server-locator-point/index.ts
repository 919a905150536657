export { ServerLocatorPoint, type ServerLocatorPointOptions } from './server-locator-point.js';
export { NoBoundaryError, LocatorUnavailableError, serverLocatorErrorClasses } from './slp-errors.js';
