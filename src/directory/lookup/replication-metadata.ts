/**
 * Active Directory's replPropertyMetaData (MS-DRSR 5.161, replPropertyMetaDataBlob): per attribute,
 * how many originating writes it has seen. The domain controller keeps it; no client can write it.
 * S4 uses it to notice an entry whose security descriptor (and so its owner) was rewritten after
 * creation: Samba lets an entry's owner rewrite its DACL and then name any account as the owner,
 * which Windows refuses without the restore privilege.
 */

/** The attid of nTSecurityDescriptor (1.2.840.113556.1.2.281) in the default prefix map. */
export const ntSecurityDescriptorAttid = 0x00020119;

const headerBytes = 16;
const entryBytes = 48;
const maxEntries = 4096;

/** The write count of one attribute, or undefined when the blob is malformed or lacks it. */
export function attributeVersion(blob: Buffer, attid: number): number | undefined {
  if (blob.length < headerBytes || blob.readUInt32LE(0) !== 1) return undefined;
  const count = blob.readUInt32LE(8);
  if (count > maxEntries || blob.length < headerBytes + count * entryBytes) return undefined;
  for (let i = 0; i < count; i += 1) {
    const offset = headerBytes + i * entryBytes;
    if (blob.readUInt32LE(offset) === attid) return blob.readUInt32LE(offset + 4);
  }
  return undefined;
}
