import { isPrimaryLike, knownSites } from '../hierarchy-facts.js';
import { fail, pass, plural, warn, type SecurityCheck } from '../security-check.js';
import { managementPoints } from './management-points.js';

/**
 * One management point per primary site: every MP holds a key agents accept for policy
 * (C2, C3), so each one more is one more key to protect. More than one warns (large sites need
 * them; keep them on hosts of their own); a primary site without any fails, since its clients
 * cannot be served.
 */
export const oneMpPerPrimary: SecurityCheck = {
  id: 'one-mp-per-primary',
  practice: 'Run one management point per primary site.',
  run: async (context) => {
    const sites = (await knownSites(context)).filter(isPrimaryLike);
    const mps = await managementPoints(context.db);
    const bySite = sites.map((site) => ({
      site,
      names: mps.filter((mp) => mp.site_code === site.code).map((mp) => mp.name),
    }));
    const evidence = bySite
      .map(
        ({ site, names }) =>
          `${site.code}: ${plural(names.length, 'management point')}${names.length > 0 ? ` (${names.join(', ')})` : ''}`,
      )
      .join('; ');
    const missingHere = bySite.filter(({ site, names }) => site.local && names.length === 0);
    const missingThere = bySite.filter(({ site, names }) => !site.local && names.length === 0);
    const several = bySite.filter(({ names }) => names.length > 1);
    if (missingHere.length > 0) {
      return fail(
        `${evidence}. This site has no management point: its clients cannot be served.`,
        'Give the site one management point: the embedded one (steward site start) or one on its own host.',
      );
    }
    if (several.length > 0 || missingThere.length > 0) {
      return warn(
        `${evidence}.` +
          (missingThere.length === 0
            ? ''
            : ` No management point reported by ${missingThere.map(({ site }) => site.code).join(', ')} ` +
              '(its site control has not arrived, or it runs none).'),
        'Keep one management point per primary site unless load or availability needs more; each ' +
          'one holds a key agents trust. Retire the ones not needed, and check a site that reports none.',
      );
    }
    return pass(`${evidence}.`);
  },
};
