/**
 * Active Directory keeps an entry's owner (its creator, for accounts outside Domain Admins) in the
 * binary nTSecurityDescriptor. Asked with the SD-flags control for the owner part only, any reader
 * with read access gets it (MS-ADTS 3.1.1.3.4.1.11); the SID is then resolved to an account.
 */
import { BerWriter, Control } from 'ldapts';

/** LDAP_SERVER_SD_FLAGS_OID. */
export const sdFlagsOid = '1.2.840.113556.1.4.801';
export const ownerSecurityInformation = 1;

/** The SD-flags control asking for the owner only (not the SACL, which needs extra privilege). */
export class SdFlagsControl extends Control {
  constructor(private readonly flags: number = ownerSecurityInformation) {
    super(sdFlagsOid, { critical: false });
  }

  protected override writeControl(writer: BerWriter): void {
    const value = new BerWriter();
    value.startSequence();
    value.writeInt(this.flags);
    value.endSequence();
    writer.writeBuffer(value.buffer, 4);
  }
}

/** A binary SID as its string form `S-1-5-21-…`, or undefined when malformed or out of bounds. */
export function sidToString(bytes: Buffer, offset = 0): string | undefined {
  if (offset < 0 || offset + 8 > bytes.length) return undefined;
  const revision = bytes[offset] ?? 0;
  const count = bytes[offset + 1] ?? 0;
  if (revision !== 1 || count > 15 || offset + 8 + 4 * count > bytes.length) return undefined;
  const authority = bytes.readUIntBE(offset + 2, 6);
  const parts = [`S-1-${authority}`];
  for (let i = 0; i < count; i += 1) parts.push(String(bytes.readUInt32LE(offset + 8 + 4 * i)));
  return parts.join('-');
}

/** A string SID as bytes (for an objectSid filter), or undefined when malformed. */
export function sidToBytes(sid: string): Buffer | undefined {
  const match = /^S-1-(\d{1,15})((?:-\d{1,10}){0,15})$/.exec(sid);
  if (match === null) return undefined;
  const authority = Number(match[1]);
  const subs = (match[2] ?? '')
    .split('-')
    .filter((part) => part !== '')
    .map(Number);
  if (!Number.isSafeInteger(authority) || authority >= 2 ** 48 || subs.some((n) => n > 0xffffffff))
    return undefined;
  const bytes = Buffer.alloc(8 + 4 * subs.length);
  bytes[0] = 1;
  bytes[1] = subs.length;
  bytes.writeUIntBE(authority, 2, 6);
  subs.forEach((n, i) => bytes.writeUInt32LE(n, 8 + 4 * i));
  return bytes;
}

/** The owner SID of a self-relative security descriptor (MS-DTYP 2.4.6), or undefined. */
export function ownerSidOf(descriptor: Buffer): string | undefined {
  if (descriptor.length < 20 || descriptor[0] !== 1) return undefined;
  const ownerOffset = descriptor.readUInt32LE(4);
  return ownerOffset === 0 ? undefined : sidToString(descriptor, ownerOffset);
}
