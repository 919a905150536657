import { access, mkdir } from 'node:fs/promises';
import {
  createSecretFile,
  readKeyFile,
  SigningKey,
  writeKeyFile,
  type KeySecret,
} from '../../trust/index.js';
import type { AgentLayout } from '../state/agent-layout.js';

/**
 * The client key (DESIGN.md section 2): generated at enrolment, stored encrypted at rest with mode
 * 0600, unlocked by the secret file beside it or by STEWARD_KEY_PASSPHRASE.
 */
export function clientKeySecret(layout: AgentLayout, protection: 'secret-file' | 'passphrase'): KeySecret {
  if (protection === 'passphrase') {
    const passphrase = process.env['STEWARD_KEY_PASSPHRASE'];
    if (passphrase === undefined || passphrase === '') {
      throw new Error('the client key is protected by a passphrase: set STEWARD_KEY_PASSPHRASE');
    }
    return { passphrase };
  }
  return { secretFile: layout.keySecret };
}

export async function createClientKey(
  layout: AgentLayout,
  protection: 'secret-file' | 'passphrase',
  cost?: { N: number; r: number; p: number },
): Promise<SigningKey> {
  await mkdir(layout.keysDir, { recursive: true, mode: 0o700 });
  if (protection === 'secret-file' && !(await exists(layout.keySecret)))
    await createSecretFile(layout.keySecret);
  const key = SigningKey.generate();
  await writeKeyFile(
    layout.clientKey,
    key,
    clientKeySecret(layout, protection),
    cost === undefined ? {} : { cost },
  );
  return key;
}

export async function loadClientKey(
  layout: AgentLayout,
  protection: 'secret-file' | 'passphrase',
): Promise<SigningKey> {
  return readKeyFile(layout.clientKey, clientKeySecret(layout, protection));
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}
