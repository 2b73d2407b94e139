// The committed guest binaries must be exactly what their sources assemble or compile to,
// must be well-formed for their loader (docs/guests.md), and must print on QEMU what their
// "Expected output" comment says; a C guest's host build must print it too.
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// @ts-ignore -- plain ESM JavaScript without type declarations
import { buildGuest, cGuestLine, cToolchain, hostedBuild, listGuests, nasmAvailable } from '../tools/build-guests.mjs';
import { spawnSync } from 'node:child_process';
// @ts-ignore -- plain ESM JavaScript without type declarations
import { available as qemuAvailable, guestOutput, runQemu } from '../tools/peers/qemu.mjs';
import { CONSOLE_INPUT, DISK_GUESTS, SERIAL_INPUT, makeTestDisk, qemuDiskArgs, virtioDevices } from './fixtures/guest-setup.js';

interface Guest {
  name: string;
  srcPath: string;
  lang: 'asm' | 'c';
  outName: string;
  outPath: string;
  kind: 'elf' | 'img';
}

const guests: Guest[] = listGuests();
const haveNasm: boolean = nasmAvailable();
const toolchain: { versions: string; libgcc: string } | null = cToolchain();
const haveQemu: boolean = qemuAvailable();
if (!haveNasm) console.warn('guest rebuild test skipped: nasm is not installed (apt-get install nasm; CI installs it)');
if (!haveQemu) console.warn('guest QEMU test skipped: qemu-system-i386 is not installed (apt-get install qemu-system-x86)');

const MB_MAGIC = 0x1badb002;
const MB_SEARCH_BYTES = 8192; // multiboot spec 3.1.1: header within the first 8192 bytes

/** Lines of the "Expected output" comment block, without the ";   " (or C's "//   ")
 *  prefix; "; Expected output: same as OTHER.asm" refers to another guest's block. */
function expectedOutput(srcPath: string): string | null {
  const lines = fs.readFileSync(srcPath, 'utf8').split(/\r?\n/);
  const comment = srcPath.endsWith('.c') ? '//' : ';';
  const start = lines.findIndex((l) => l.startsWith(comment) && /^\s*Expected output/.test(l.slice(comment.length)));
  if (start < 0) return null;
  const same = /same as (\S+\.asm)/.exec(lines[start]);
  if (same) return expectedOutput(path.join(path.dirname(srcPath), same[1]));
  const out: string[] = [];
  for (let i = start + 1; i < lines.length && lines[i].startsWith(`${comment}   `); i++) out.push(lines[i].slice(comment.length + 3));
  return out.map((l) => l + '\n').join('');
}

describe('guest sources', () => {
  it('there are guests, each with a committed binary', () => {
    expect(guests.length).toBeGreaterThan(0);
    for (const g of guests) expect(fs.existsSync(g.outPath), `${g.outName} is missing; run npm run guests`).toBe(true);
  });
});

// Another GCC or ld emits other bytes, so a C guest is compared only under the toolchain its
// "// toolchain:" line names (CI's Debian 12 gcc and binutils); elsewhere it is rebuilt and
// run below but not compared byte for byte.
const rebuildable = (g: Guest): boolean =>
  g.lang === 'asm' ? haveNasm : toolchain !== null && cGuestLine(g.srcPath, 'toolchain') === toolchain.versions;
const notRebuilt = guests.filter((g) => !rebuildable(g)).map((g) => g.name);
if (notRebuilt.length > 0) {
  console.warn(`guest rebuild test skipped for ${notRebuilt.join(', ')}: needs nasm, or for a C guest the gcc and ld its "// toolchain:" line names`);
}

describe('guest binaries are reproducible', () => {
  it.each(guests.filter(rebuildable).map((g) => [g.name, g] as const))('%s rebuilds byte-identical', (_name, g) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxlab-guests-'));
    try {
      const out = path.join(dir, g.outName);
      buildGuest(g.srcPath, out);
      const rebuilt = fs.readFileSync(out);
      const committed = fs.readFileSync(g.outPath);
      expect(rebuilt.equals(committed), `${g.outName} differs from its source; run npm run guests`).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('guest binaries are well-formed', () => {
  it.each(guests.filter((g) => g.kind === 'img').map((g) => [g.name, g] as const))(
    '%s is a boot image with 0x55 0xAA at offset 510',
    (_name, g) => {
      const b = fs.readFileSync(g.outPath);
      expect(b.length).toBeGreaterThanOrEqual(512); // committed unpadded (docs/guests.md)
      expect(b[510]).toBe(0x55);
      expect(b[511]).toBe(0xaa);
    },
  );

  it.each(guests.filter((g) => g.kind === 'elf').map((g) => [g.name, g] as const))(
    '%s is an ELF32 i386 executable with a multiboot header in its first 8 KiB',
    (_name, g) => {
      const b = fs.readFileSync(g.outPath);
      expect([...b.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]); // "\x7fELF"
      expect(b[4], 'ELFCLASS32').toBe(1);
      expect(b[5], 'little-endian').toBe(1);
      expect(b.readUInt16LE(16), 'ET_EXEC').toBe(2);
      expect(b.readUInt16LE(18), 'EM_386').toBe(3);
      let header = -1;
      for (let off = 0; off + 12 <= Math.min(b.length, MB_SEARCH_BYTES); off += 4) {
        if (b.readUInt32LE(off) === MB_MAGIC) {
          header = off;
          break;
        }
      }
      expect(header, 'multiboot magic 0x1BADB002, 4-aligned, within 8 KiB').toBeGreaterThanOrEqual(0);
      const sum = (b.readUInt32LE(header) + b.readUInt32LE(header + 4) + b.readUInt32LE(header + 8)) >>> 0;
      expect(sum, 'magic + flags + checksum = 0 (mod 2^32)').toBe(0);
      // The a.out-kludge fields (flag bit 16) must agree with the ELF program header.
      const flags = b.readUInt32LE(header + 4);
      if (flags & 0x10000) {
        const phoff = b.readUInt32LE(28);
        const pOffset = b.readUInt32LE(phoff + 4);
        const pPaddr = b.readUInt32LE(phoff + 12);
        const pFilesz = b.readUInt32LE(phoff + 16);
        const pMemsz = b.readUInt32LE(phoff + 20);
        const headerAddr = b.readUInt32LE(header + 12);
        const loadAddr = b.readUInt32LE(header + 16);
        const loadEnd = b.readUInt32LE(header + 20);
        const bssEnd = b.readUInt32LE(header + 24);
        const entry = b.readUInt32LE(header + 28);
        expect(headerAddr - loadAddr).toBe(header - pOffset);
        expect(loadAddr).toBe(pPaddr);
        expect(loadEnd - loadAddr).toBe(pFilesz);
        expect(bssEnd - loadAddr).toBe(pMemsz);
        expect(entry).toBe(b.readUInt32LE(24)); // e_entry
        expect(pFilesz).toBe(b.length);
      }
    },
  );
});

const withExpected = guests
  .map((g) => [g.name, g, expectedOutput(g.srcPath)] as const)
  .filter(([, , e]) => e !== null);

// A C guest compiled other ways is other instruction sequences for the same values: each
// build must print on vmxlab its Expected output (checked on QEMU above, and by the host
// build below for a guest that has one).
// -fpic adds the call/pop thunk and GOT-relative addressing; -march=i386 drops CMOVcc.
// (Flags that change the calling convention, -mrtd or -mregparm, break the calls into
// libgcc, on QEMU as on vmxlab, so they are not here.)
const OTHER_CFLAGS = ['-O0', '-O1', '-Os', '-O3 -funroll-loops', '-O2 -march=i386', '-O2 -fpic', '-O2 -fno-inline -fno-omit-frame-pointer'];
describe.skipIf(toolchain === null)('C guests built with other flags print the same on vmxlab', () => {
  const cases = withExpected.filter(([, g]) => g.lang === 'c').flatMap(([name, g, expected]) => OTHER_CFLAGS.map((f) => [`${name} ${f}`, g, f, expected] as const));
  it.each(cases)('%s', (_name, g, cflags, expected) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxlab-cflags-'));
    try {
      const out = path.join(dir, g.outName);
      buildGuest(g.srcPath, out, { cflags });
      const r = spawnSync(process.execPath, ['dist/cli/main.js', 'run', out], { encoding: 'latin1', timeout: 120_000 });
      expect(r.stdout).toBe(expected);
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// The oracle for a C guest's values: the same C compiled for the host and run on its CPU.
describe.skipIf(toolchain === null)('C guests built for the host print their documented output', () => {
  // Those that have a host build (-DHOSTED); a kernel (ckernel) has none.
  const hosted = withExpected.filter(([, g]) => g.lang === 'c' && fs.readFileSync(g.srcPath, 'utf8').includes('#ifdef HOSTED'));
  it.each(hosted)('%s', (_name, g, expected) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vmxlab-hosted-'));
    try {
      const exe = hostedBuild(g.srcPath, path.join(dir, g.name));
      const r = spawnSync(exe, [], { encoding: 'latin1', timeout: 60_000 });
      expect(r.status).toBe(0);
      expect(r.stdout).toBe(expected);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!haveQemu)('guests on QEMU print their documented output', () => {
  it.each(withExpected)('%s', async (_name, g, expected) => {
    const extraArgs = DISK_GUESTS.has(g.name) ? qemuDiskArgs(makeTestDisk()) : [];
    const r = await runQemu(g.outPath, { timeoutMs: 60_000, extraArgs, input: SERIAL_INPUT[g.name] ?? CONSOLE_INPUT[g.name], virtio: virtioDevices(g.name) });
    expect(r.timedOut).toBe(false);
    expect(guestOutput(r.serial).toString('latin1')).toBe(expected);
    expect(r.exitStatus).toBe(0);
  });
});
