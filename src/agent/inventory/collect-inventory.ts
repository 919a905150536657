import { execFile } from 'node:child_process';
import { readFile, statfs } from 'node:fs/promises';
import os from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface SoftwareItem {
  name: string;
  version: string;
  arch: string;
  source: string;
}

export interface InventorySnapshot {
  facts: Record<string, string | number>;
  software: SoftwareItem[];
}

/**
 * Hardware and operating system facts, and installed software from the platform's package manager
 * (dpkg, rpm or apk, whichever is present). Facts are named like the collection rule language's
 * fields: `os.family`, `memory.totalMb`, ...
 */
export async function collectInventory(): Promise<InventorySnapshot> {
  const facts: Record<string, string | number> = {
    'os.family': os.platform(),
    'os.kernel': os.release(),
    'os.arch': os.arch(),
    'host.name': os.hostname(),
    'cpu.cores': os.cpus().length,
    'cpu.model': (os.cpus()[0]?.model ?? 'unknown').trim().slice(0, 200),
    'memory.totalMb': Math.round(os.totalmem() / 1024 / 1024),
  };
  Object.assign(facts, await osRelease());
  try {
    const disk = await statfs('/');
    facts['disk.totalMb'] = Math.round((disk.blocks * disk.bsize) / 1024 / 1024);
    facts['disk.freeMb'] = Math.round((disk.bavail * disk.bsize) / 1024 / 1024);
  } catch {
    // statfs is not available everywhere; the facts are simply absent.
  }
  return { facts, software: await installedSoftware() };
}

async function osRelease(): Promise<Record<string, string>> {
  try {
    const text = await readFile('/etc/os-release', 'utf8');
    const values = new Map<string, string>();
    for (const line of text.split('\n')) {
      const match = /^([A-Z_]+)=(.*)$/.exec(line);
      if (match?.[1] !== undefined && match[2] !== undefined)
        values.set(match[1], match[2].replace(/^"|"$/g, ''));
    }
    const facts: Record<string, string> = {};
    const id = values.get('ID');
    const version = values.get('VERSION_ID');
    const name = values.get('PRETTY_NAME');
    if (id !== undefined) facts['os.name'] = id;
    if (version !== undefined) facts['os.version'] = version;
    if (name !== undefined) facts['os.description'] = name;
    return facts;
  } catch {
    return {};
  }
}

const managers: { command: string; args: string[]; source: string }[] = [
  {
    command: 'dpkg-query',
    args: ['-W', '-f', '${Package}\\t${Version}\\t${Architecture}\\n'],
    source: 'dpkg',
  },
  { command: 'rpm', args: ['-qa', '--qf', '%{NAME}\\t%{VERSION}-%{RELEASE}\\t%{ARCH}\\n'], source: 'rpm' },
  { command: 'apk', args: ['list', '--installed'], source: 'apk' },
];

async function installedSoftware(): Promise<SoftwareItem[]> {
  for (const manager of managers) {
    try {
      const { stdout } = await run(manager.command, manager.args, {
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
      });
      return parseListing(stdout, manager.source).slice(0, 20_000);
    } catch {
      // Not this platform's package manager.
    }
  }
  return [];
}

function parseListing(stdout: string, source: string): SoftwareItem[] {
  const items: SoftwareItem[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    if (source === 'apk') {
      const match = /^(.+?)-(\d[^\s]*)\s+(\S+)/.exec(line);
      if (match?.[1] !== undefined)
        items.push({ name: match[1], version: match[2] ?? '', arch: match[3] ?? '', source });
      continue;
    }
    const [name, version, arch] = line.split('\t');
    if (name !== undefined && name !== '')
      items.push({ name, version: version ?? '', arch: arch ?? '', source });
  }
  return items;
}
