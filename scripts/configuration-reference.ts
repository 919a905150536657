import { agentSettings, agentSettingsPrefix } from '../src/agent/agent-settings.js';
import { settingsReference } from '../src/platform/settings.js';
import { siteServerSettings, siteSettingsPrefix } from '../src/site/site-settings.js';
import { hierarchySettingsReference } from '../src/site/hierarchy/hierarchy-settings.js';
import {
  managementPointSettings,
  managementPointSettingsPrefix,
} from '../src/roles/management-point/standalone/standalone-settings.js';
import {
  distributionPointSettings,
  distributionPointSettingsPrefix,
} from '../src/roles/distribution-point/standalone/standalone-settings.js';

/** docs/configuration.md, generated from the settings tables (a test fails when it drifts). */
export function configurationReference(): string {
  return [
    '# Configuration reference',
    '',
    'Generated from the settings tables in `src/site/site-settings.ts` and `src/agent/agent-settings.ts`',
    'by `npx tsx scripts/configuration-reference.ts > docs/configuration.md`; a test fails when this file',
    'and the tables differ. A command-line flag wins over the environment variable, which wins over',
    'the default. Invalid values are refused at start with `error ERR_SETTINGS`.',
    '',
    '## `steward site start`',
    '',
    settingsReference(siteServerSettings, siteSettingsPrefix),
    '',
    'Where the site listens, its database and its approval mode are chosen at `steward site init` and',
    'kept in `site.json` (docs/operations.md); `--listen` overrides the listen address for one run.',
    '',
    '## The site hierarchy (environment of `steward site start`)',
    '',
    'Declared in `src/site/hierarchy/hierarchy-settings.ts`; read from the environment only (docs/hierarchy.md).',
    '',
    hierarchySettingsReference(),
    '',
    '## `steward mp start` and `steward dp start`',
    '',
    'Site systems on their own hosts (docs/scale-out.md). `steward mp start` also takes `--database`',
    'and `--replica`; both take `--data` and `--listen`.',
    '',
    settingsReference(managementPointSettings, managementPointSettingsPrefix),
    '',
    settingsReference(distributionPointSettings, distributionPointSettingsPrefix),
    '',
    '## `steward agent run`',
    '',
    settingsReference(agentSettings, agentSettingsPrefix),
    '',
    'The management points, mode and root pin are chosen at `steward agent enroll` and kept in',
    '`agent.json` (docs/agent.md).',
    '',
  ].join('\n');
}

if (process.argv[1]?.endsWith('configuration-reference.ts') === true)
  process.stdout.write(configurationReference());
