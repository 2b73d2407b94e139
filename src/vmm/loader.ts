// Guest image loaders: multiboot v1 (ELF, or the a.out kludge of header flag 16), a flat
// binary at a given address, and a boot sector started at 0x7C00 in real mode. Each
// checks the image first and refuses a malformed one with an ImageError naming the
// problem (never loading part of it).

/** A guest image vmxlab cannot load; the message is one line for the user. */
export class ImageError extends Error {}

export type ImageFormat = "auto" | "multiboot" | "flat" | "bootsector";

/** A contiguous piece of the image to copy into guest-physical memory. */
export interface LoadSegment { address: number; bytes: Uint8Array; zeroBytes: number }

export interface LoadPlan {
  format: "multiboot" | "flat" | "bootsector";
  segments: LoadSegment[];
  entry: number;
  /** The multiboot header asked for video mode information (flags bit 2). */
  videoInfo?: boolean;
}

const MULTIBOOT_MAGIC = 0x1badb002;
const ELF_MAGIC = 0x464c457f;

function u32(b: Uint8Array, at: number): number {
  return (b[at] | (b[at + 1] << 8) | (b[at + 2] << 16) | (b[at + 3] << 24)) >>> 0;
}
function u16(b: Uint8Array, at: number): number {
  return b[at] | (b[at + 1] << 8);
}

/** Offset of a valid multiboot header in the first 8 KiB (multiboot spec 3.1.1), or -1. */
/**
 * True when a non-ELF image has a multiboot header a loader can use: one with load
 * addresses (flag 16). A disk image that holds an ELF kernel after its boot sector (xv6's)
 * shows that kernel's header in its first 8 KiB, but is a boot sector, not a kernel.
 */
function loadableMultiboot(b: Uint8Array): boolean {
  const at = findMultibootHeader(b);
  return at >= 0 && (u32(b, at + 4) & 0x10000) !== 0;
}

export function findMultibootHeader(b: Uint8Array): number {
  const end = Math.min(b.length - 12, 8192 - 12);
  for (let at = 0; at <= end; at += 4) {
    if (u32(b, at) !== MULTIBOOT_MAGIC) continue;
    if (((u32(b, at) + u32(b, at + 4) + u32(b, at + 8)) >>> 0) === 0) return at;
  }
  return -1;
}

export function isBootSector(b: Uint8Array): boolean {
  return b.length >= 512 && b[510] === 0x55 && b[511] === 0xaa;
}

/** Decides how to load `b`. */
export function planLoad(b: Uint8Array, format: ImageFormat, loadAddress: number, ramBytes: number): LoadPlan {
  if (b.length === 0) throw new ImageError("the image is empty");
  let plan: LoadPlan;
  if (format === "flat") {
    plan = { format: "flat", segments: [{ address: loadAddress, bytes: b, zeroBytes: 0 }], entry: loadAddress };
  } else if (format === "bootsector" || (format === "auto" && u32(b, 0) !== ELF_MAGIC && !loadableMultiboot(b) && isBootSector(b))) {
    if (!isBootSector(b)) throw new ImageError("not a boot sector: no 0x55AA signature at offset 510");
    // The whole image goes to 0x7C00; guests larger than a sector find the rest there.
    if (0x7c00 + b.length > 0xa0000) {
      throw new ImageError(`boot image of ${b.length} bytes does not fit below 0xA0000 (a disk image boots from a disk: vmxlab run --disk FILE)`);
    }
    plan = { format: "bootsector", segments: [{ address: 0x7c00, bytes: b, zeroBytes: 0 }], entry: 0x7c00 };
  } else {
    plan = planMultiboot(b);
  }
  for (const seg of plan.segments) {
    if (seg.address + seg.bytes.length + seg.zeroBytes > ramBytes) {
      throw new ImageError(`the image needs memory up to 0x${(seg.address + seg.bytes.length + seg.zeroBytes).toString(16)}, beyond the ${ramBytes >> 20} MiB of RAM`);
    }
  }
  return plan;
}

function planMultiboot(b: Uint8Array): LoadPlan {
  const header = findMultibootHeader(b);
  const isElf = b.length >= 52 && u32(b, 0) === ELF_MAGIC;
  if (header < 0 && !isElf) throw new ImageError("unrecognised image: not a multiboot kernel, ELF file or boot sector (use --format flat for a raw binary)");
  if (header < 0) throw new ImageError("ELF file without a multiboot header in its first 8 KiB");
  const flags = u32(b, header + 4);
  // Bits 0-15 are requirements (multiboot 3.1.2): page-aligned modules (0), memory
  // information (1) and video mode information (2) are given; anything else is refused.
  if ((flags & 0xfff8) !== 0) throw new ImageError(`multiboot header asks for unsupported features (flags 0x${flags.toString(16)})`);
  const videoInfo = (flags & 0x4) !== 0;
  if (isElf) return { ...planElf(b), videoInfo };
  if ((flags & 0x10000) === 0) throw new ImageError("multiboot image is neither ELF nor carries load addresses (header flag 16)");
  // The a.out kludge (multiboot spec 3.1.3): load addresses in the header itself.
  const headerAddr = u32(b, header + 12), loadAddr = u32(b, header + 16);
  const loadEnd = u32(b, header + 20), bssEnd = u32(b, header + 24), entry = u32(b, header + 28);
  const fileStart = header - (headerAddr - loadAddr);
  if (fileStart < 0 || loadAddr > headerAddr) throw new ImageError("multiboot header load addresses are inconsistent");
  const length = loadEnd === 0 ? b.length - fileStart : loadEnd - loadAddr;
  if (length <= 0 || fileStart + length > b.length) throw new ImageError("multiboot load_end_addr lies beyond the file");
  const zero = bssEnd > loadAddr + length ? bssEnd - (loadAddr + length) : 0;
  return { format: "multiboot", segments: [{ address: loadAddr, bytes: b.subarray(fileStart, fileStart + length), zeroBytes: zero }], entry, videoInfo };
}

/** ELF32 executable: PT_LOAD segments at their physical addresses (ELF spec, program header). */
function planElf(b: Uint8Array): LoadPlan {
  if (b[4] !== 1 || b[5] !== 1) throw new ImageError("ELF file is not 32-bit little-endian");
  if (u16(b, 18) !== 3) throw new ImageError("ELF file is not for the i386 architecture");
  const phoff = u32(b, 28), phentsize = u16(b, 42), phnum = u16(b, 44);
  if (phnum === 0 || phoff + phnum * phentsize > b.length || phentsize < 32) throw new ImageError("ELF program headers lie beyond the file");
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const p = phoff + i * phentsize;
    if (u32(b, p) !== 1) continue; // PT_LOAD
    const offset = u32(b, p + 4), paddr = u32(b, p + 12), filesz = u32(b, p + 16), memsz = u32(b, p + 20);
    if (offset + filesz > b.length) throw new ImageError(`ELF segment ${i} lies beyond the end of the file`);
    segments.push({ address: paddr, bytes: b.subarray(offset, offset + filesz), zeroBytes: memsz > filesz ? memsz - filesz : 0 });
  }
  if (segments.length === 0) throw new ImageError("ELF file has no loadable segment");
  return { format: "multiboot", segments, entry: u32(b, 24) };
}
