import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';

/** Xauthority address families (see Xauth.h). FamilyWild matches any host. */
const FAMILY_WILD = 0xffff;
export const MIT_MAGIC_COOKIE = 'MIT-MAGIC-COOKIE-1';

/** A fresh random MIT-MAGIC-COOKIE-1 secret (16 bytes, as xauth generates). */
export function newCookie(): Buffer {
  return randomBytes(16);
}

function counted(field: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(field.length);
  return Buffer.concat([len, field]);
}

/**
 * One Xauthority entry in the binary format libXau reads: family (u16 BE), then address, display
 * number, auth name and auth data, each as u16 BE length + bytes. FamilyWild with an empty
 * address and display matches any host and display, so the file can be written before Xvfb has
 * picked its display number (-displayfd). Xvfb loads every entry of its -auth file.
 */
export function xauthorityEntry(cookie: Buffer, display = ''): Buffer {
  const family = Buffer.alloc(2);
  family.writeUInt16BE(FAMILY_WILD);
  return Buffer.concat([
    family,
    counted(Buffer.alloc(0)),
    counted(Buffer.from(display, 'latin1')),
    counted(Buffer.from(MIT_MAGIC_COOKIE, 'latin1')),
    counted(cookie),
  ]);
}

/** Writes an Xauthority file holding only `cookie`, readable by its owner only. */
export async function writeXauthority(path: string, cookie: Buffer): Promise<void> {
  await writeFile(path, xauthorityEntry(cookie), { mode: 0o600, flag: 'wx' });
}
