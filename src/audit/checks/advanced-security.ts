import { securityModeOf } from '../../site/security-mode/security-mode.js';
import { fail, pass, type SecurityCheck } from '../security-check.js';

/** Advanced security mode: every site system its own identity, never one shared service account. */
export const advancedSecurity: SecurityCheck = {
  id: 'advanced-security',
  practice: 'Use advanced security: every site system has its own identity, no shared service account.',
  run: ({ config, configOnDisk }) => {
    const running = securityModeOf(config);
    const onDisk = configOnDisk === undefined ? running : securityModeOf(configOnDisk);
    const pending =
      onDisk === running ? '' : ` site.json now says ${onDisk}: it applies when the site server restarts.`;
    if (running === 'advanced') {
      return pass(`The site runs in advanced security mode.${pending}`);
    }
    return fail(
      `The site runs in standard security mode: site systems share one service account credential, ` +
        `so one compromised site system can act as any other.${pending}`,
      `Switch to advanced security: stop the site server, run ` +
        `"steward site security-mode --data DIR advanced", start it again, and give each site system ` +
        'its own identity (docs/audit.md, "Security modes"). The switch cannot be undone.',
    );
  },
};
