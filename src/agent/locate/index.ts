/**
 * Locating a site and its management points (DESIGN.md section 3): the server locator point of a
 * configured site (verified, C2 locating) and DNS SRV `_steward-mp._tcp.<domain>`. Imports only
 * src/trust, src/protocol and node built-ins.
 */
export { locateBySlp, type LocateBySlpOptions, type LocatedSite } from './slp-locator.js';
export {
  locateByDnsSrv,
  orderSrvRecords,
  managementPointSrvPrefix,
  maxSrvRecords,
  type LocateByDnsSrvOptions,
  type SrvResolver,
} from './dns-srv-locator.js';
export {
  LocatorUnreachableError,
  LocatorResponseError,
  NoSrvRecordsError,
  locateErrorClasses,
} from './locate-errors.js';
