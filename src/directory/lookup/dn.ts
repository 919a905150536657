/**
 * Distinguished names as RFC 4514 strings: escaping a value, splitting a DN into its RDNs, and a
 * normal form for comparing two DNs (attribute types and values case-folded, spaces trimmed). The
 * names compared here (cn, uid, dc, ou) all match case-insensitively.
 */

/** Escapes an attribute value for use in an RDN (RFC 4514 section 2.4). */
export function escapeRdnValue(value: string): string {
  let out = value.replace(/[\\,+"<>;=]/g, (c) => `\\${c}`).replace(/\0/g, '\\00');
  if (out.startsWith(' ') || out.startsWith('#')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

export type Rdn = { type: string; value: string }[];

/** Splits a DN into RDNs (first = leftmost) and unescapes values; undefined when malformed. */
export function parseDn(dn: string): Rdn[] | undefined {
  if (dn.trim() === '') return [];
  const rdns: Rdn[] = [];
  let current: Rdn = [];
  let type = '';
  let value: number[] = [];
  let inValue = false;
  const bytes = Buffer.from(dn, 'utf8');
  const flush = (): boolean => {
    if (!inValue || type.trim() === '') return false;
    current.push({ type: type.trim().toLowerCase(), value: Buffer.from(value).toString('utf8').trim() });
    type = '';
    value = [];
    inValue = false;
    return true;
  };
  for (let i = 0; i < bytes.length; i += 1) {
    const byte = bytes[i] ?? 0;
    const char = String.fromCharCode(byte);
    if (!inValue) {
      if (char === '=') inValue = true;
      else type += char;
      continue;
    }
    if (char === '\\') {
      const hex = bytes.subarray(i + 1, i + 3).toString('latin1');
      if (/^[0-9a-fA-F]{2}$/.test(hex)) {
        value.push(parseInt(hex, 16));
        i += 2;
      } else if (i + 1 < bytes.length) {
        value.push(bytes[i + 1] ?? 0);
        i += 1;
      } else return undefined;
    } else if (char === ',' || char === '+') {
      if (!flush()) return undefined;
      if (char === ',') {
        rdns.push(current);
        current = [];
      }
    } else value.push(byte);
  }
  if (!flush()) return undefined;
  rdns.push(current);
  return rdns;
}

/** A comparable form of a DN; the input itself (case-folded) when it cannot be parsed. */
export function normalizeDn(dn: string): string {
  const rdns = parseDn(dn);
  if (rdns === undefined) return dn.trim().toLowerCase();
  return rdns
    .map((rdn) =>
      rdn
        .map((ava) => `${ava.type}=${escapeRdnValue(ava.value.toLowerCase())}`)
        .sort()
        .join('+'),
    )
    .join(',');
}

export function sameDn(a: string, b: string): boolean {
  return normalizeDn(a) === normalizeDn(b);
}

/** The value of a DN's leftmost RDN (its first attribute), e.g. "steward-ABC" of "uid=steward-ABC,ou=x". */
export function firstRdnValue(dn: string): string | undefined {
  return parseDn(dn)?.[0]?.[0]?.value;
}

/** Escapes a value for an LDAP filter (RFC 4515 section 3). */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
