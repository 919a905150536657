/**
 * `steward directory check`: are the System Management container's access rules minimal (S4)?
 * It checks by trying, with the credentials given: the site system creates a probe entry and
 * changes it; another site system, an ordinary user and an anonymous session try to change or
 * delete it; then the site system deletes it. Each finding says what was tried, what happened
 * and, when it is wrong, what to change (OpenLDAP olcAccess lines or Active Directory ACEs).
 */
import { Attribute, Change } from 'ldapts';
import { randomId } from '../../trust/index.js';
import type { DirectoryConfig } from '../lookup/directory-config.js';
import type { DirectoryFlavor } from '../lookup/root-dse.js';
import { openDirectorySession, type DirectorySession } from '../lookup/session.js';
import { attributeNames as a, entryDn, objectClassNames, systemManagementDn } from '../lookup/vocabulary.js';
import { selfIdentity, type EntryWriter } from '../lookup/writer.js';
import { ensureSystemManagementContainer } from '../publish/container.js';
import { schemaInstalled } from '../publish/schema-present.js';
import { accessFix } from './access-rules.js';
import { attempt, describeAttempt } from './attempt.js';
import { finding, probeAttributes, type AclFinding, type Probe } from './findings.js';
import { probeAsOtherSiteSystem, probeAsReader, type ProbeAccount } from './probe-accounts.js';
import { transportFinding } from './transport.js';

export interface AclProbes {
  /** A second site system: it must not be able to modify or delete the first one's entry. */
  otherSiteSystem?: ProbeAccount;
  /** An ordinary account (no site system): it must read, and write nothing. */
  ordinaryUser?: ProbeAccount;
  /** Also try anonymously (default true). */
  anonymous?: boolean;
  /** For the OpenLDAP fix text; default cn=Site Systems,ou=groups,<base DN>. */
  siteSystemsGroupDn?: string;
}

export interface AclReport {
  directory: string;
  flavor: DirectoryFlavor;
  container: string;
  account: string;
  findings: AclFinding[];
  /** True when no finding failed. */
  passed: boolean;
}

function describe(text: string): Change[] {
  return [
    new Change({
      operation: 'replace',
      modification: new Attribute({ type: 'description', values: [text] }),
    }),
  ];
}

function allowedPasses(
  check: string,
  who: string,
  what: string,
  result: Awaited<ReturnType<typeof attempt>>,
  fix: string,
) {
  return finding(
    check,
    result.outcome === 'allowed' ? 'pass' : 'fail',
    `${who} ${what}: ${describeAttempt(result)}.`,
    fix,
  );
}

async function probeChecks(
  config: DirectoryConfig,
  probes: AclProbes,
  creator: { session: DirectorySession; self: EntryWriter },
  fix: string,
): Promise<AclFinding[]> {
  const { session, self } = creator;
  const cn = `Steward-ACL-Probe-${randomId().slice(0, 12)}`;
  const probe: Probe = {
    cn,
    dn: entryDn(session.baseDn, cn),
    attributes: {
      objectClass: [objectClassNames.boundaryRange],
      [a.siteCode]: ['ZZZ'],
      [a.rangeLow]: ['203.0.113.250'],
      [a.rangeHigh]: ['203.0.113.250'],
      description: ['steward directory check probe; safe to delete'],
    },
  };
  const created = await attempt(() => session.client.add(probe.dn, probeAttributes(probe)));
  const findings = [allowedPasses('site-system-can-create', self.dn, `creating ${probe.dn}`, created, fix)];
  if (created.outcome !== 'allowed') return findings;
  const recreate = () => session.client.add(probe.dn, probeAttributes(probe)).catch(() => undefined);
  try {
    const modified = await attempt(() => session.client.modify(probe.dn, describe('changed by its creator')));
    findings.push(
      allowedPasses('site-system-can-modify-own', self.dn, 'modifying its own entry', modified, fix),
    );
    const container = systemManagementDn(session.baseDn);
    const onContainer = await attempt(() =>
      session.client.modify(container, describe('Steward sites, management points and boundaries')),
    );
    findings.push(
      finding(
        'container-not-writable',
        onContainer.outcome === 'allowed' ? 'fail' : 'pass',
        `${self.dn} modifying the container itself: ${describeAttempt(onContainer)}.`,
        fix,
      ),
    );
    if (probes.otherSiteSystem === undefined) {
      findings.push(
        finding(
          'other-site-system-cannot-change',
          'warn',
          'Not tried: no second site-system account was given.',
          'Run the check again with a second site system (--other-bind-dn and --other-password-file).',
        ),
      );
    } else {
      findings.push(...(await probeAsOtherSiteSystem(config, probes.otherSiteSystem, probe, fix, recreate)));
    }
    if (probes.ordinaryUser !== undefined) {
      findings.push(
        ...(await probeAsReader(config, 'ordinary-user', probes.ordinaryUser, probe, creator, fix, recreate)),
      );
    }
    if (probes.anonymous !== false) {
      findings.push(...(await probeAsReader(config, 'anonymous', undefined, probe, creator, fix, recreate)));
    }
  } finally {
    const deleted = await attempt(() => session.client.del(probe.dn));
    findings.push(
      allowedPasses('site-system-can-delete-own', self.dn, 'deleting its own entry', deleted, fix),
    );
  }
  return findings;
}

/** Runs every check; throws only when the site system itself cannot bind (ERR_DIRECTORY_BIND, ...). */
export async function checkDirectoryAcls(
  config: DirectoryConfig,
  probes: AclProbes = {},
): Promise<AclReport> {
  const session = await openDirectorySession(config);
  try {
    const self = await selfIdentity(session);
    const fix = accessFix(session.flavor, session.baseDn, probes.siteSystemsGroupDn);
    const container = systemManagementDn(session.baseDn);
    const findings: AclFinding[] = [transportFinding(config, session.url)];
    const done = (): AclReport => ({
      directory: session.url,
      flavor: session.flavor,
      container,
      account: self.dn,
      findings,
      passed: findings.every((f) => f.result !== 'fail'),
    });
    const schema = await schemaInstalled(session);
    findings.push(
      finding(
        'schema',
        schema ? 'pass' : 'fail',
        `The Steward object classes are ${schema ? '' : 'not '}in the schema.`,
        'Load the schema extension: steward directory schema --format openldap|ad (docs/directory.md).',
      ),
    );
    if (!schema) return done();
    const made = await attempt(() => ensureSystemManagementContainer(session));
    findings.push(
      finding(
        'container',
        made.outcome === 'allowed' ? 'pass' : 'fail',
        made.outcome === 'allowed'
          ? `${container} exists.`
          : `${container} is missing: ${describeAttempt(made)}.`,
        `Create ${container} as the directory administrator, then set its access rules.\n${fix}`,
      ),
    );
    if (made.outcome !== 'allowed') return done();
    findings.push(...(await probeChecks(config, probes, { session, self }, fix)));
    return done();
  } finally {
    await session.close();
  }
}
