/**
 * The ACL check's probes as accounts other than the entry's creator: a second site system must
 * not modify or delete it; an ordinary user and an anonymous session must read it (and its
 * writer, which S4 needs) and must not create, modify or delete anything.
 */
import { Attribute, Change, type Entry } from 'ldapts';
import type { DirectoryConfig } from '../lookup/directory-config.js';
import { openDirectorySession, type DirectorySession } from '../lookup/session.js';
import { entryDn } from '../lookup/vocabulary.js';
import { writerResolver, writerSearchOptions, type EntryWriter } from '../lookup/writer.js';
import { attempt, describeAttempt, type Attempt } from './attempt.js';
import { finding, probeAttributes, type AclFinding, type Probe } from './findings.js';

export interface ProbeAccount {
  bindDn: string;
  password?: string;
  passwordFile?: string;
}

const change = new Change({
  operation: 'replace',
  modification: new Attribute({ type: 'description', values: ['changed by someone else'] }),
});

function mustBeRefused(check: string, who: string, what: string, result: Attempt, fix: string): AclFinding {
  const outcome = result.outcome === 'allowed' ? 'fail' : result.outcome === 'denied' ? 'pass' : 'warn';
  return finding(check, outcome, `${who} ${what}: ${describeAttempt(result)}.`, fix);
}

async function open(config: DirectoryConfig, account: ProbeAccount | undefined) {
  const { bindDn: _bindDn, password: _password, passwordFile: _passwordFile, ...server } = config;
  const settings: DirectoryConfig = account === undefined ? server : { ...server, ...account };
  try {
    return { session: await openDirectorySession(settings, { anonymous: account === undefined }) };
  } catch (error) {
    return { session: undefined, error: error instanceof Error ? error.message : String(error) };
  }
}

async function writeAttempts(
  session: DirectorySession,
  label: string,
  who: string,
  probe: Probe,
  fix: string,
  recreate: () => Promise<void>,
): Promise<AclFinding[]> {
  const modified = await attempt(() => session.client.modify(probe.dn, [change]));
  const deleted = await attempt(() => session.client.del(probe.dn));
  if (deleted.outcome === 'allowed') await recreate();
  return [
    mustBeRefused(`${label}-cannot-modify`, who, `modifying ${probe.dn}`, modified, fix),
    mustBeRefused(`${label}-cannot-delete`, who, `deleting ${probe.dn}`, deleted, fix),
  ];
}

export async function probeAsOtherSiteSystem(
  config: DirectoryConfig,
  account: ProbeAccount,
  probe: Probe,
  fix: string,
  recreate: () => Promise<void>,
): Promise<AclFinding[]> {
  const opened = await open(config, account);
  if (opened.session === undefined) {
    return [
      finding(
        'other-site-system-cannot-change',
        'warn',
        `Could not bind as ${account.bindDn}: ${opened.error}`,
        'Check the second account and its password.',
      ),
    ];
  }
  try {
    return await writeAttempts(opened.session, 'other-site-system', account.bindDn, probe, fix, recreate);
  } finally {
    await opened.session.close();
  }
}

async function readProbe(session: DirectorySession, probe: Probe): Promise<Entry | undefined> {
  const options = writerSearchOptions(session);
  const { searchEntries } = await session.client.search(
    probe.dn,
    {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes: ['cn', ...options.attributes],
      explicitBufferAttributes: options.buffers,
    },
    options.controls,
  );
  return searchEntries[0];
}

/** An ordinary user (label "ordinary-user") or an anonymous session (account undefined). */
export async function probeAsReader(
  config: DirectoryConfig,
  label: string,
  account: ProbeAccount | undefined,
  probe: Probe,
  creator: { session: DirectorySession; self: EntryWriter },
  fix: string,
  recreate: () => Promise<void>,
): Promise<AclFinding[]> {
  const who = account?.bindDn ?? 'an anonymous session';
  const opened = await open(config, account);
  if (opened.session === undefined) {
    return [
      finding(
        `${label}-can-read`,
        account === undefined ? 'warn' : 'fail',
        `Could not open a session as ${who}: ${opened.error}`,
        fix,
      ),
    ];
  }
  const session = opened.session;
  const findings: AclFinding[] = [];
  try {
    let entry: Entry | undefined;
    const read = await attempt(async () => (entry = await readProbe(session, probe)));
    if (entry !== undefined) {
      findings.push(finding(`${label}-can-read`, 'pass', `${who} reading ${probe.dn}: allowed.`, ''));
      const writer = await writerResolver(session)(entry);
      const sees = writer?.id === creator.self.id;
      findings.push(
        finding(
          `${label}-sees-writer`,
          sees ? 'pass' : 'fail',
          `${who} reading who wrote the entry: ${writer?.dn ?? 'not readable'}.`,
          'Readers must be able to read creatorsName and modifiersName (OpenLDAP) or the owner in nTSecurityDescriptor (Active Directory: Read permissions), or lookup cannot apply S4.',
        ),
      );
    } else if (account === undefined && creator.session.flavor === 'ad' && read.outcome === 'denied') {
      findings.push(
        finding(
          `${label}-can-read`,
          'pass',
          'Anonymous access is refused altogether (the Active Directory default); agents bind with an account.',
          '',
        ),
      );
    } else {
      findings.push(
        finding(
          `${label}-can-read`,
          account === undefined ? 'warn' : 'fail',
          `${who} reading ${probe.dn}: ${read.outcome === 'allowed' ? 'not visible' : describeAttempt(read)}.`,
          account === undefined
            ? 'Agents must then be given directory credentials to find their site; or allow anonymous read of the container.'
            : fix,
        ),
      );
    }
    const planted = entryDn(session.baseDn, `${probe.cn}-${label}`);
    const create = await attempt(() =>
      session.client.add(planted, probeAttributes(probe, `${probe.cn}-${label}`)),
    );
    if (create.outcome === 'allowed') await session.client.del(planted).catch(() => undefined);
    findings.push(
      mustBeRefused(`${label}-cannot-create`, who, 'creating an entry in the container', create, fix),
    );
    findings.push(...(await writeAttempts(session, label, who, probe, fix, recreate)));
    return findings;
  } finally {
    await session.close();
  }
}
