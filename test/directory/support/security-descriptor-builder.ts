/**
 * Builds self-relative security descriptors (MS-DTYP 2.4.6) for the Samba tests that play an
 * attacker: an owner-only descriptor, or a DACL of access-allowed ACEs.
 */
import { sidToBytes } from '../../../src/directory/lookup/security-descriptor.js';

const selfRelative = 0x8000;
const daclPresent = 0x0004;

function sid(text: string): Buffer {
  const bytes = sidToBytes(text);
  if (bytes === undefined) throw new Error(`bad SID ${text}`);
  return bytes;
}

/** A descriptor carrying only an owner (write it with the SD-flags control for the owner). */
export function ownerOnlyDescriptor(ownerSid: string): Buffer {
  const header = Buffer.alloc(20);
  header.writeUInt8(1, 0);
  header.writeUInt16LE(selfRelative, 2);
  header.writeUInt32LE(20, 4);
  return Buffer.concat([header, sid(ownerSid)]);
}

/** A descriptor carrying only a DACL of access-allowed ACEs (mask, SID). */
export function daclOnlyDescriptor(aces: readonly { mask: number; sid: string }[]): Buffer {
  const aceBytes = aces.map(({ mask, sid: text }) => {
    const body = sid(text);
    const ace = Buffer.alloc(8);
    ace.writeUInt8(0, 0);
    ace.writeUInt8(0, 1);
    ace.writeUInt16LE(8 + body.length, 2);
    ace.writeUInt32LE(mask >>> 0, 4);
    return Buffer.concat([ace, body]);
  });
  const acl = Buffer.alloc(8);
  const size = 8 + aceBytes.reduce((sum, ace) => sum + ace.length, 0);
  acl.writeUInt8(2, 0);
  acl.writeUInt16LE(size, 2);
  acl.writeUInt16LE(aces.length, 4);
  const header = Buffer.alloc(20);
  header.writeUInt8(1, 0);
  header.writeUInt16LE(selfRelative | daclPresent, 2);
  header.writeUInt32LE(20, 16);
  return Buffer.concat([header, acl, ...aceBytes]);
}

/** GENERIC_ALL as the directory stores it (every DS right, WRITE_DAC and WRITE_OWNER). */
export const fullControl = 0x000f01ff;
