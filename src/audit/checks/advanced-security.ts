import { securityModeOf } from '../../site/security-mode/security-mode.js';
import { knownSites } from '../hierarchy-facts.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

/**
 * Advanced security mode: every site system its own identity, never one shared service account.
 * Site systems of this site last installed with standard mode's shared credential are named (never
 * the credential): under advanced security they warn until reinstalled with tokens of their own.
 * This site's mode is the one it runs with (a switch in site.json waits for a restart, and the
 * evidence says so); the other sites known here report theirs in their site control.
 */
export const advancedSecurity: SecurityCheck = {
  id: 'advanced-security',
  practice: 'Use advanced security: every site system has its own identity, no shared service account.',
  run: async (context) => {
    const { config, configOnDisk } = context;
    const running = securityModeOf(config);
    const onDisk = configOnDisk === undefined ? running : securityModeOf(configOnDisk);
    const pending =
      onDisk === running ? '' : ` site.json now says ${onDisk}: it applies when the site server restarts.`;
    const sharedRows = await context.db
      .selectFrom('site_systems')
      .select(['name', 'role'])
      .where('site_code', '=', config.code)
      .where('installed_with', '=', 'shared-credential')
      .orderBy('name')
      .execute();
    const shared =
      sharedRows.length === 0
        ? ''
        : ` Installed with the shared site-system credential: ${sharedRows.map((row) => `${row.name} (${row.role})`).join(', ')}.`;
    const reinstall =
      'Reinstall each site system named, each with a one-time token of its own: ' +
      '"steward site system-token --role mp|dp", then "steward mp|dp install" in a new data folder on its host ' +
      '(docs/scale-out.md).';
    const others = (await knownSites(context)).filter((site) => !site.local);
    const standard = others.filter((site) => site.securityMode === 'standard').map((site) => site.code);
    const advanced = others.filter((site) => site.securityMode === 'advanced').map((site) => site.code);
    const unknown = others.filter((site) => site.securityMode === null).map((site) => site.code);
    const elsewhere =
      (standard.length === 0 ? '' : ` Standard security mode reported by ${standard.join(', ')}.`) +
      (advanced.length === 0 ? '' : ` Advanced security mode reported by ${advanced.join(', ')}.`) +
      (unknown.length === 0
        ? ''
        : ` Not known for ${unknown.join(', ')} (no site control received that carries it).`);
    const fix =
      `Switch to advanced security at each site named: stop its site server, run ` +
      `"steward site security-mode --data DIR advanced", start it again, and give each site system ` +
      'its own identity (docs/audit.md, "Security modes"). The switch cannot be undone.';
    if (running === 'standard') {
      return fail(
        `The site runs in standard security mode: site systems share one service account credential, ` +
          `so one compromised site system can act as any other.${shared}${pending}${elsewhere}`,
        fix,
      );
    }
    const evidence = `The site runs in advanced security mode.${shared}${pending}${elsewhere}`;
    if (standard.length > 0) return fail(evidence, sharedRows.length === 0 ? fix : `${fix} ${reinstall}`);
    if (sharedRows.length > 0) return warn(evidence, reinstall);
    if (unknown.length > 0) {
      return warn(
        evidence,
        'Check that every site links to its parent and sends its site control (steward site status); ' +
          'run the audit at the sites named.',
      );
    }
    return pass(evidence);
  },
};
