import {
  envelopePayloadBytes,
  fingerprintOf,
  parseEnvelope,
  parsePayload,
  type RootPayload,
} from '../../trust/index.js';
import type { SiteDb } from '../../site/database/site-db.js';
import { fail, pass, warn, type SecurityCheck } from '../security-check.js';

const day = 24 * 3600 * 1000;
/** Fewer days than this before an expiry warns (the MP certificate renews itself a quarter ahead). */
export const expiryWarningDays = 30;
/** A key used longer than this warns: twice the validity its certificates get (src/site/init/validity.ts). */
export const maxKeyAgeDays = { root: 10 * 365, site: 4 * 365, mp: 2 * 365 } as const;

interface Item {
  what: string;
  expiresAt: Date;
  /** When the key was first certified (for the keys whose age is judged). */
  keySince?: Date;
  maxKeyAgeDays?: number;
}

const days = (ms: number) => Math.floor(ms / day);

async function rootItems(db: SiteDb): Promise<Item[]> {
  const rows = await db
    .selectFrom('root_documents')
    .select(['version', 'envelope'])
    .orderBy('version')
    .execute();
  const payloads = rows.map((row) => parsePayload('root', envelopePayloadBytes(parseEnvelope(row.envelope))));
  const current: RootPayload | undefined = payloads.at(-1);
  if (current === undefined) return [];
  return current.keys.map((key) => {
    const first = payloads.find((p) => p.keys.some((k) => k.keyId === key.keyId)) ?? current;
    return {
      what: `root v${current.version} key ${fingerprintOf(key.keyId)}`,
      expiresAt: new Date(current.expiresAt),
      keySince: new Date(first.issuedAt),
      maxKeyAgeDays: maxKeyAgeDays.root,
    };
  });
}

/** The newest unrevoked certificate of each subject, with the date its key was first certified. */
async function certificateItems(db: SiteDb): Promise<Item[]> {
  const rows = await db
    .selectFrom('certificates')
    .select(['kind', 'subject', 'site_code', 'key_id', 'issued_at', 'expires_at', 'revoked_at'])
    .orderBy('issued_at')
    .execute();
  const firstUse = new Map<string, Date>();
  for (const row of rows) if (!firstUse.has(row.key_id)) firstUse.set(row.key_id, new Date(row.issued_at));
  const newest = new Map<string, (typeof rows)[number]>();
  for (const row of rows)
    if (row.revoked_at === null) newest.set(`${row.kind}/${row.site_code}/${row.subject}`, row);
  return [...newest.values()].map((row) => ({
    what: `${row.kind} ${row.subject}`,
    expiresAt: new Date(row.expires_at),
    keySince: firstUse.get(row.key_id) ?? new Date(row.issued_at),
    maxKeyAgeDays: row.kind === 'site-certificate' ? maxKeyAgeDays.site : maxKeyAgeDays.mp,
  }));
}

/** The newest TLS CA of each site and the newest unrevoked server certificate of each subject. */
async function tlsItems(db: SiteDb): Promise<Item[]> {
  const authorities = await db
    .selectFrom('tls_authorities')
    .select(['version', 'site_code', 'not_after'])
    .orderBy('version')
    .execute();
  const newestCa = new Map<string, (typeof authorities)[number]>();
  for (const row of authorities) newestCa.set(row.site_code, row);
  const servers = await db
    .selectFrom('tls_certificates')
    .select(['subject', 'not_after'])
    .where('kind', '=', 'server')
    .where('revoked_at', 'is', null)
    .orderBy('issued_at')
    .execute();
  const newestServer = new Map<string, (typeof servers)[number]>();
  for (const row of servers) newestServer.set(row.subject, row);
  return [
    ...[...newestCa.values()].map((row) => ({
      what: `TLS CA v${row.version} of ${row.site_code}`,
      expiresAt: new Date(row.not_after),
    })),
    ...[...newestServer.values()].map((row) => ({
      what: `TLS server certificate ${row.subject}`,
      expiresAt: new Date(row.not_after),
    })),
  ];
}

/**
 * Key and certificate ages and expiries (DESIGN.md section 2): the root keys, the site and MP
 * certificates (every site's known here), the hierarchy TLS CA and the site servers' TLS
 * certificates. Expired fails; expiring within 30 days, or a key in use longer than twice the
 * validity of its certificates, warns.
 */
export const keyCertificateAges: SecurityCheck = {
  id: 'key-certificate-ages',
  practice:
    'Keep keys and certificates in date, renewed before they expire, and keys not used past their age.',
  run: async ({ db, now }) => {
    const items = [...(await rootItems(db)), ...(await certificateItems(db)), ...(await tlsItems(db))];
    if (items.length === 0)
      return warn('No root, certificate or TLS certificate is recorded here.', 'Check the site database.');
    const expired: string[] = [];
    const expiring: string[] = [];
    const old: string[] = [];
    const lines = items.map((item) => {
      const left = days(item.expiresAt.getTime() - now.getTime());
      const age = item.keySince === undefined ? undefined : days(now.getTime() - item.keySince.getTime());
      if (left < 0) expired.push(item.what);
      else if (left < expiryWarningDays) expiring.push(item.what);
      if (age !== undefined && item.maxKeyAgeDays !== undefined && age > item.maxKeyAgeDays)
        old.push(item.what);
      return (
        `${item.what}: ${left < 0 ? `expired ${-left} days ago` : `expires ${item.expiresAt.toISOString().slice(0, 10)} (${left} days left)`}` +
        (age === undefined ? '' : `, key in use ${age} days`)
      );
    });
    const evidence =
      lines.join('; ') +
      '.' +
      (expired.length > 0 ? ` Expired: ${expired.join(', ')}.` : '') +
      (expiring.length > 0 ? ` Expiring within ${expiryWarningDays} days: ${expiring.join(', ')}.` : '') +
      (old.length > 0 ? ` Keys past their age: ${old.join(', ')}.` : '');
    const fix =
      'Renew what expires: the MP certificate renews itself while the root key is present (put it back ' +
      'if it is kept offline, then restart the site server); the TLS server certificate renews itself; ' +
      'site certificates and the root document are issued again at the central site (docs/hierarchy.md, ' +
      '"Limits of this release"; docs/tls.md, "Renewal"). Replace keys past their age.';
    if (expired.length > 0) return fail(evidence, fix);
    if (expiring.length > 0 || old.length > 0) return warn(evidence, fix);
    return pass(evidence);
  },
};
