import { isLoopbackHost } from '../../site/http/listen-address.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * No plain HTTP beyond loopback (docs/tls.md): admin passwords and tokens, enrolment secrets and
 * inventory must not cross a network in clear. `--insecure-http` fails; plain HTTP on loopback only
 * passes; a public URL with http:// on another host (a proxy in front, perhaps) warns.
 */
export const noPlainHttp: SecurityCheck = {
  id: 'no-plain-http',
  practice: 'Serve HTTPS on every address other machines reach: no plain HTTP beyond loopback.',
  run: ({ transport, url }) => {
    const fix =
      'Start the site without --insecure-http (STEWARD_SITE_INSECURE_HTTP): with --tls auto it serves ' +
      'HTTPS with the hierarchy CA on any address other than loopback (docs/tls.md).';
    if (transport.insecure) {
      return fail(
        `The site server serves plain HTTP on an address other machines reach (--insecure-http), at ${url}.`,
        fix,
      );
    }
    if (transport.scheme === 'https') return pass(`The site server serves HTTPS at ${url}.`);
    const host = new URL(url).hostname.replace(/^\[(.*)\]$/, '$1');
    if (!isLoopbackHost(host)) {
      return warn(
        `The site server serves plain HTTP on loopback, but agents are told ${url}: something in front of it (a proxy) must provide TLS.`,
        'Serve HTTPS from the site (--tls always) or make sure the proxy in front of it does, with a certificate agents can check.',
      );
    }
    return pass(`The site server serves plain HTTP on loopback only (${url}): nothing crosses a network.`);
  },
};
