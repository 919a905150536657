import { fail, pass, warn, type SecurityCheck } from '../security-check.js';
import { isLoopbackHost } from '../../site/http/listen-address.js';
import { managementPoints } from './management-points.js';

/** What the database URL says about its channel, without its password or any other secret. */
export function databaseChannel(url: string): { host: string; sslMode: string; described: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { host: '?', sslMode: 'unknown', described: 'a PostgreSQL URL that cannot be parsed' };
  }
  const sslMode =
    parsed.searchParams.get('sslmode') ??
    (parsed.searchParams.get('ssl') === 'true' ? 'verify-full' : 'disable');
  const host = parsed.hostname === '' ? 'localhost' : parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  const database = parsed.pathname.replace(/^\//, '') || '(default)';
  return { host, sslMode, described: `PostgreSQL database ${database} on ${host}, sslmode=${sslMode}` };
}

/**
 * A management point on its own host reaches the site database over the network; the channel must
 * be TLS with the server checked, as the Security Planning chapter asks for the channel between a
 * remote MP and the database (DESIGN.md section 7; docs/tls.md, "Database and directory TLS").
 */
export const mpDatabaseChannel: SecurityCheck = {
  id: 'mp-database-channel',
  practice:
    'Protect the channel between management points and the site database (TLS with the server certificate checked).',
  run: async ({ db, config }) => {
    if (config.database === null) {
      return pass('The site database is embedded (PGlite in the data folder): it has no network channel.');
    }
    const channel = databaseChannel(config.database);
    const remoteMps = (await managementPoints(db)).filter(
      (mp) => mp.site_code === config.code && !mp.embedded,
    );
    const required = config.databaseRequireTls === true;
    const verified = channel.sslMode === 'verify-full' || channel.sslMode === 'verify-ca';
    const evidence =
      `The site uses a ${channel.described}; TLS ${required ? 'is' : 'is not'} required (databaseRequireTls); ` +
      `${remoteMps.length === 0 ? 'no management point of this site runs on its own host' : `management points on their own hosts: ${remoteMps.map((mp) => mp.name).join(', ')}`}.`;
    const fix =
      'Use sslmode=verify-full&sslrootcert=FILE in every database URL (the site server and each ' +
      'management point) and set --database-require-tls (site.json databaseRequireTls; docs/tls.md).';
    if (verified && required && channel.sslMode === 'verify-full') return pass(evidence);
    const loopback = isLoopbackHost(channel.host);
    if (!verified && (remoteMps.length > 0 || !loopback)) return fail(evidence, fix);
    return warn(evidence, fix);
  },
};
