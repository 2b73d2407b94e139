// A PC-like machine around one virtual CPU: RAM, the port bus with the 16550 UART at
// 0x3F8 and QEMU's isa-debug-exit at 0xF4, image loading, and a run loop shaped like
// KVM's (run until an exit that the caller cares about).

import { Reg, Seg, Cr0, totalBytes } from "../state/layout.js";
import { Cpu, StopReason } from "../cpu/cpu.js";
import { PicPair } from "../dev/pic8259.js";
import { Pit8254, PIT_HZ } from "../dev/pit8254.js";
import { AtaChannel, BlockStore } from "../dev/ataChannel.js";
import { I8042 } from "../dev/i8042.js";
import { CmosRtc } from "../dev/cmosRtc.js";
import { PvBlockDevice, PvBlockOptions, PV_BLOCK_BASE, PV_BLOCK_IRQ, PV_BLOCK_WINDOW } from "../dev/pvBlockDevice.js";
import { PortBus } from "../dev/portBus.js";
import { MmioBus } from "../dev/mmioBus.js";
import { GuestRam } from "../dev/dma.js";
import { CountingStore } from "../dev/countingStore.js";
import type { DeviceActivity } from "../dev/accessLog.js";
import { CgaText, CGA_TEXT_BASE, COLUMNS, ROWS, DOT_CLOCK_HZ } from "../dev/cgaText.js";
import { Uart16550 } from "../dev/uart16550.js";
import { DebugExit, SystemControlPortA } from "../dev/debugExit.js";
import { VirtioMmioTransport, MMIO_WINDOW } from "../dev/virtio/mmioTransport.js";
import { VirtioBlock } from "../dev/virtio/block.js";
import { VirtioConsole } from "../dev/virtio/console.js";
import type { VirtioDevice } from "../dev/virtio/virtio.js";
import { LocalApic, LAPIC_BASE } from "../dev/localApic.js";
import { IoApic, IOAPIC_BASE } from "../dev/ioApic.js";
import { InterruptRouter } from "../dev/interruptRouter.js";
import { planLoad, ImageError, ImageFormat } from "./loader.js";
import { writeMpTables, isaIrqToIoApicPin } from "./mpTable.js";
import { PromptedInput } from "./promptedInput.js";
import type { TlbConfig } from "../core/tlbModel.js";
import { loadProfile } from "../cost/profiles.js";
import type { Profile } from "../cost/profile.js";
import { widenInlining } from "./v8Tuning.js";
import { createWasmCpu } from "./wasmEngine.js";
import { EngineError, ENGINE_NAMES, DEFAULT_ENGINE, type EngineName } from "./engine.js";
export { EngineError, ENGINE_NAMES, type EngineName } from "./engine.js";

export interface MachineOptions {
  /** Guest RAM in bytes (default 32 MiB). */
  ramBytes?: number;
  /** TLB geometry and replacement (defaults: the Pentium's, core/tlbModel.ts). */
  tlb?: { itlb?: TlbConfig; dtlb?: TlbConfig };
  /** Cost profile: a shipped profile's name, a file path, or a checked Profile (default: cost/profiles.ts). */
  profile?: string | Profile;
  /** Sectors of the ATA disk on the primary channel as device 0 (master), or none. */
  disk?: BlockStore;
  /** Sectors of the ATA disk on the primary channel as device 1 (slave), or none. */
  disk1?: BlockStore;
  /** The real-time clock at power-on, in seconds since 1970 UTC (default 2000-01-01 00:00:00). */
  rtcStart?: number;
  /** Sectors of the Xen-style PV block device (MMIO window at 0xFE900000, IRQ 11), or none. */
  pvBlock?: BlockStore;
  pvBlockOptions?: PvBlockOptions;
  /**
   * virtio-mmio devices in QEMU's -device order. As on QEMU's microvm (acpi=off), eight
   * transports sit at 0xfeb00000 + 0x200 * i on IRQ 5 + i, and the first device takes
   * transport 7, the next 6, and so on (docs/devices.md). No entry: no transports at all.
   */
  virtio?: VirtioDeviceSpec[];
  /**
   * The CPU's flat state to continue from (state/layout.ts): a copy of another machine's
   * `cpu.flat` bytes with the same RAM size and TLB geometry, from either engine. The CPU
   * is not reset; the devices start at power-on, as their state is host-side
   * (docs/architecture.md).
   */
  state?: ArrayBuffer;
  /**
   * Which engine runs the hot loop: "wasm" (the loop compiled by AssemblyScript, the
   * default) or "ts" (the same source as V8 runs it). Results and cycles are the same.
   */
  engine?: EngineName;
  /**
   * Whether the engine compiles hot straight-line code into blocks (core/blockCompiler.ts:
   * JavaScript for the TS engine, WebAssembly for the wasm engine; default true). Results
   * are the same either way; false is for comparing the two.
   */
  blocks?: boolean;
}

/**
 * One way the guest reaches a disk, for the report: the device whose registers it drives,
 * their access log, and the store that counts the sectors moved.
 */
export interface BlockPath {
  path: "ata" | "virtio-blk" | "pv-blk";
  deviceName: string;
  activity(): DeviceActivity | undefined;
  store: CountingStore;
}

export type VirtioDeviceSpec =
  | { type: "blk"; store: BlockStore; id?: string }
  | { type: "console" }
  /** Any other device type built by the caller (it implements VirtioDevice). */
  | { type: "device"; device: VirtioDevice };

/** QEMU microvm's virtio-mmio layout (hw/i386/microvm.h facts: base, stride, count, IRQ base). */
export const VIRTIO_MMIO_BASE = 0xfeb00000;
export const VIRTIO_MMIO_COUNT = 8;
export const VIRTIO_MMIO_IRQ_BASE = 5;

export interface LoadOptions {
  /** File name, shown to the guest as the start of the multiboot command line. */
  name?: string;
  /** Multiboot command-line arguments after the name (QEMU's -append). */
  append?: string;
  format?: ImageFormat;
  /** Load and entry address of a flat binary (default 1 MiB). */
  loadAddress?: number;
  /** DL at the start of a boot sector: the BIOS drive it came from (default 0, the first floppy). */
  bootDrive?: number;
  /**
   * Multiboot modules (QEMU's -initrd): each file's bytes and its command line (QEMU passes
   * the file name and what follows it), loaded page-aligned after the kernel.
   */
  modules?: { bytes: Uint8Array; cmdline: string }[];
}

/** "quantum": the cycle count reached `untilCycle` and the guest can go on (see run()). */
export type RunReason = "debug-exit" | "halt" | "shutdown" | "limit" | "error" | "quantum";

export interface RunResult {
  reason: RunReason;
  /** The value the guest wrote to isa-debug-exit (reason "debug-exit"). */
  exitCode?: number;
  /** Instructions retired during this call. */
  instructions: number;
  message?: string;
  /** The CPU is halted at the end of a "quantum" (it idled to the boundary). */
  halted?: boolean;
  /**
   * The CPU is halted at the end of a "quantum" with nothing due that could wake it: only an
   * outside event (a frame, a keystroke) can. A plain run() would have ended with "halt".
   */
  waiting?: boolean;
}

/** Where the loader puts the multiboot information structure and command line. */
const MBI_ADDRESS = 0x9000;
/** The memory map and the loader's name, after the 116-byte information structure. */
const MMAP_ADDRESS = 0x9080;
const LOADER_NAME_ADDRESS = 0x90e0;
const CMDLINE_ADDRESS = 0x9100;
const BOOT_GDT_ADDRESS = 0x800;
/** The extended BIOS data area: 1 KiB at the top of 640 KiB, the classic PC layout. */
const EBDA_ADDRESS = 0x9fc00;

export class Machine {
  readonly cpu: Cpu;
  /**
   * False while guest RAM is as the constructor made it, all zeros and never written:
   * loadImage() then has nothing to clear. A flat state given to the constructor, a
   * loaded image or a run (the guest's stores) may have written it.
   */
  private ramTouched: boolean;
  readonly ports = new PortBus();
  /** Physical addresses beyond RAM; devices register windows here. */
  readonly mmio: MmioBus;
  /** Guest RAM as devices see it (DMA, shared rings). */
  readonly guestRam: GuestRam;
  readonly uart = new Uart16550(0x3f8);
  readonly debugExit = new DebugExit();
  readonly pic = new PicPair();
  readonly pit: Pit8254;
  readonly keyboard: I8042;
  /** The CPU's local APIC (xAPIC at 0xFEE00000) and the I/O APIC at 0xFEC00000. */
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;
  /** Set when the guest pulsed the CPU's reset line; the run ends (like QEMU -no-reboot). */
  private resetRequested = false;
  /** The primary ATA channel, when MachineOptions.disk or disk1 gave it a disk. */
  readonly disk: AtaChannel | null = null;
  /** The colour text screen at 0xB8000. */
  readonly screen: CgaText;
  /** Called with the text-screen lines that became final (see dev/cgaText.ts). */
  onScreen: ((lines: string[]) => void) | null = null;
  /** The PV block device, when MachineOptions.pvBlock gave one. */
  readonly pvBlock: PvBlockDevice | null = null;
  /** The eight virtio-mmio transports (index i at 0xfeb00000 + 0x200 * i), when MachineOptions.virtio gave devices. */
  readonly virtioTransports: VirtioMmioTransport[] = [];
  /** The virtio console, when there is one: its input is queued with receive(). */
  readonly virtioConsole: VirtioConsole | null = null;
  /** The disks attached: ATA, then the PV block device, then virtio-blk. */
  readonly blockPaths: BlockPath[] = [];
  /** Called for every byte the guest transmits on COM1 (and on the virtio console). */
  onSerial: ((byte: number) => void) | null = null;
  /** COM1 input held back until the guest prints its prompt (typeAtPrompt), or null. */
  private promptedInput: PromptedInput | null = null;
  readonly ramBytes: number;
  /** The engine running the hot loop (MachineOptions.engine). */
  readonly engine: EngineName;

  constructor(options: MachineOptions = {}) {
    const engine = options.engine ?? DEFAULT_ENGINE;
    if (!ENGINE_NAMES.includes(engine)) throw new EngineError(`unknown engine "${String(engine)}" (expected ${ENGINE_NAMES.join(" or ")})`);
    this.engine = engine;
    const ramBytes = options.ramBytes ?? 32 << 20;
    if (!Number.isInteger(ramBytes) || ramBytes < 1 << 20 || ramBytes > 1 << 30 || (ramBytes & 0xfff) !== 0) {
      throw new ImageError(`RAM size must be a multiple of 4 KiB between 1 MiB and 1 GiB, not ${ramBytes}`);
    }
    this.ramBytes = ramBytes;
    if (options.state !== undefined && options.state.byteLength !== totalBytes(ramBytes)) {
      throw new ImageError(`a flat state of ${options.state.byteLength} bytes does not fit ${ramBytes} bytes of RAM`);
    }
    // Both engines' JavaScript (blocks, the host side of every exit) is optimized with the
    // same budget, so that the two are measured alike in one process (vmm/v8Tuning.ts).
    widenInlining();
    this.ramTouched = options.state !== undefined;
    this.cpu = this.engine === "wasm" ? createWasmCpu(ramBytes, options.tlb, options.state) : new Cpu(ramBytes, options.tlb, options.state);
    if (options.blocks !== false) this.cpu.setBlocks(true);
    if (options.profile !== undefined) {
      this.cpu.accounting.profile = typeof options.profile === "string" ? loadProfile(options.profile) : options.profile;
    }
    this.mmio = new MmioBus(ramBytes);
    this.guestRam = new GuestRam(this.cpu);
    this.screen = new CgaText(this.guestRam, () => this.cpu.accounting.cycles() * (DOT_CLOCK_HZ / this.cpu.accounting.clockHz));
    this.cpu.watchWrites(CGA_TEXT_BASE, COLUMNS * ROWS * 2, this.screen);
    this.ports.register(0x3d4, 2, this.screen);
    this.ports.register(0x3da, 1, this.screen);
    this.cpu.bus = this.mmio;
    this.ports.register(0x3f8, 8, this.uart);
    this.ports.register(0xf4, 1, this.debugExit);
    this.ports.register(0x92, 1, new SystemControlPortA());
    // The RTC runs on virtual time: the cycle count at the profile's clock rate.
    this.ports.register(0x70, 2, new CmosRtc(() => this.cpu.accounting.cycles() / this.cpu.accounting.clockHz, this.ramBytes, options.rtcStart));
    this.ports.register(0x20, 2, this.pic);
    this.ports.register(0xa0, 2, this.pic);
    this.pit = new Pit8254(() => this.pitTick(), () => this.pulseIrq(0));
    this.pit.onReprogram = () => { this.cpu.rescheduleRequested = true; };
    this.ports.register(0x40, 4, this.pit);
    this.ports.register(0x61, 1, this.pit);
    this.lapic = new LocalApic(() => this.apicTick());
    this.ioapic = new IoApic(this.lapic);
    this.lapic.onEoiBroadcast = (vector) => this.ioapic.eoi(vector);
    this.lapic.onChange = () => { this.cpu.rescheduleRequested = true; };
    this.lapic.onNmi = () => this.cpu.raiseNmi();
    this.mmio.register(LAPIC_BASE, 0x1000, this.lapic);
    this.mmio.register(IOAPIC_BASE, 0x1000, this.ioapic);
    this.cpu.apic = this.lapic;
    // One InterruptSource decides between the local APIC's vectors and the 8259's ExtINT.
    this.cpu.interruptSource = new InterruptRouter(this.pic, this.lapic);
    this.uart.irq = (level) => this.setIrq(4, level);
    this.keyboard = new I8042((level) => this.setIrq(1, level), () => { this.resetRequested = true; this.cpu.stopRequested = true; });
    this.ports.register(0x60, 1, this.keyboard);
    this.ports.register(0x64, 1, this.keyboard);
    this.ports.log.clock = this.mmio.log.clock = () => this.cpu.accounting.cycles();
    if (options.disk || options.disk1) {
      const master = options.disk ? new CountingStore(options.disk) : null, slave = options.disk1 ? new CountingStore(options.disk1) : null;
      const disk = new AtaChannel(master, slave, (level) => this.setIrq(14, level));
      this.disk = disk;
      // Each disk's register accesses are those made while it was selected.
      disk.byDrive.clock = () => this.cpu.accounting.cycles();
      if (master !== null) this.blockPaths.push({ path: "ata", deviceName: "ATA disk (primary master)", activity: () => disk.byDrive.byDevice.get(0), store: master });
      if (slave !== null) this.blockPaths.push({ path: "ata", deviceName: "ATA disk (primary slave)", activity: () => disk.byDrive.byDevice.get(1), store: slave });
      this.ports.register(0x1f0, 8, this.disk);
      this.ports.register(0x3f6, 1, this.disk);
    }
    if (options.pvBlock) {
      const store = new CountingStore(options.pvBlock);
      const pv = new PvBlockDevice(store, this.guestRam, () => this.cpu.accounting.cycles(),
        (level) => this.setIrq(PV_BLOCK_IRQ, level), () => { this.cpu.rescheduleRequested = true; }, options.pvBlockOptions);
      this.pvBlock = pv;
      this.mmio.register(PV_BLOCK_BASE, PV_BLOCK_WINDOW, pv);
      this.blockPaths.push({ path: "pv-blk", deviceName: pv.name, activity: () => this.mmio.log.byDevice.get(pv), store });
    }
    if (options.virtio && options.virtio.length > 0) this.attachVirtio(options.virtio);
    this.uart.onTransmit = (b) => {
      if (this.onSerial) this.onSerial(b);
      if (this.promptedInput !== null) this.promptedInput.observe(b);
    };
    this.debugExit.onExit = () => { this.cpu.stopRequested = true; };
    this.cpu.io = this.ports;
    if (options.state === undefined) this.reset(); else this.resetDevices();
  }

  private attachVirtio(specs: VirtioDeviceSpec[]): void {
    if (specs.length > VIRTIO_MMIO_COUNT) throw new ImageError(`at most ${VIRTIO_MMIO_COUNT} virtio devices fit the transports, not ${specs.length}`);
    const slots: (VirtioDevice | null)[] = new Array(VIRTIO_MMIO_COUNT).fill(null);
    const stores: (CountingStore | null)[] = new Array(VIRTIO_MMIO_COUNT).fill(null);
    specs.forEach((spec, k) => {
      let device: VirtioDevice;
      if (spec.type === "blk") {
        const store = new CountingStore(spec.store);
        stores[VIRTIO_MMIO_COUNT - 1 - k] = store;
        device = new VirtioBlock(store, spec.id);
      }
      else if (spec.type === "device") device = spec.device;
      else {
        const console = new VirtioConsole((bytes) => { if (this.onSerial) for (const b of bytes) this.onSerial(b); });
        (this as { virtioConsole: VirtioConsole | null }).virtioConsole = console;
        device = console;
      }
      slots[VIRTIO_MMIO_COUNT - 1 - k] = device; // QEMU fills the highest transport first
    });
    for (let i = 0; i < VIRTIO_MMIO_COUNT; i++) {
      const line = VIRTIO_MMIO_IRQ_BASE + i;
      const t = new VirtioMmioTransport(this.guestRam, slots[i], (level) => this.setIrq(line, level), i);
      this.mmio.register(VIRTIO_MMIO_BASE + MMIO_WINDOW * i, MMIO_WINDOW, t);
      this.virtioTransports.push(t);
      const store = stores[i];
      if (store !== null) this.blockPaths.push({ path: "virtio-blk", deviceName: t.name, activity: () => this.mmio.log.byDevice.get(t), store });
    }
  }

  /** Power-on state (SDM 3A 9.1.1 table 9-1): real mode, CS:IP = F000:FFF0. */
  reset(): void {
    const cpu = this.cpu, s = cpu.s;
    cpu.foldRetirements(); // TLB hits counted in state words survive the reset, as the counters do
    s.fill(0);
    cpu.counts.fill(0); // the event counters, and so the TSC, start at 0 (SDM 3B 18.17)
    s[Reg.RAM_BYTES] = this.ramBytes;
    s[Reg.CR0] = Cr0.CD | Cr0.NW | Cr0.ET;
    cpu.setEflags(2);
    s[Reg.EDX] = 0x633; // processor signature, as CPUID leaf 1 reports it
    s[Reg.DR0 + 6] = 0xffff0ff0 | 0;
    s[Reg.DR0 + 7] = 0x400;
    s[Reg.IDTR_LIMIT] = 0x3ff;
    s[Reg.GDTR_LIMIT] = 0xffff;
    s[Reg.LDTR_ATTR] = 0x82; s[Reg.LDTR_LIMIT] = 0xffff;
    s[Reg.TR_ATTR] = 0x8b; s[Reg.TR_LIMIT] = 0xffff;
    for (let seg = 0; seg < 6; seg++) cpu.setSegment(seg, 0, 0, 0xffff, seg === Seg.CS ? 0x9b : 0x93);
    cpu.setSegment(Seg.CS, 0xf000, 0xffff0000 | 0, 0xffff, 0x9b);
    s[Reg.EIP] = 0xfff0;
    s[Reg.A20_MASK] = -1;
    cpu.flushTlb(true);
    cpu.flushDecoded();
    cpu.syncMode();
    this.resetDevices();
  }

  /** The devices' part of reset(): what the flat state does not hold. */
  private resetDevices(): void {
    this.debugExit.value = null;
    this.resetRequested = false;
    this.pvBlock?.reset();
    this.lapic.globallyEnabled = true;
    this.lapic.reset();
    this.ioapic.reset();
  }

  /** Loads a guest image and sets the CPU state its boot protocol defines. */
  loadImage(bytes: Uint8Array, options: LoadOptions = {}): void {
    const plan = planLoad(bytes, options.format ?? "auto", options.loadAddress ?? 0x100000, this.ramBytes);
    if (plan.format !== "multiboot" && options.modules !== undefined && options.modules.length > 0) {
      throw new ImageError("modules (--initrd) need a multiboot kernel");
    }
    this.reset();
    const cpu = this.cpu, s = cpu.s;
    // A new machine's RAM is zero and untouched: writing zeros over it would make the OS
    // back every page now (about 95 ms for 32 MiB here, reading it as much).
    if (this.ramTouched) cpu.ram.fill(0);
    this.ramTouched = true;
    this.firmwareInterruptSetup();
    for (const seg of plan.segments) {
      cpu.ram.set(seg.bytes, seg.address);
      cpu.ram.fill(0, seg.address + seg.bytes.length, seg.address + seg.bytes.length + seg.zeroBytes);
    }
    if (plan.format === "bootsector") {
      // Real mode at 0000:7C00 as a BIOS leaves it (boot drive in DL), without BIOS services.
      cpu.setSegment(Seg.CS, 0, 0, 0xffff, 0x9b);
      s[Reg.EIP] = 0x7c00;
      s[Reg.ESP] = 0x7c00;
      s[Reg.EDX] = options.bootDrive ?? 0;
      return;
    }
    this.enterFlatProtectedMode();
    s[Reg.EIP] = plan.entry;
    if (plan.format === "multiboot") {
      const end = Math.max(...plan.segments.map((g) => g.address + g.bytes.length + g.zeroBytes));
      this.writeMultibootInfo(options.name ?? "kernel", options.append ?? "", plan.videoInfo === true, this.loadModules(options.modules ?? [], end));
      s[Reg.EAX] = 0x2badb002;
      s[Reg.EBX] = MBI_ADDRESS;
    }
  }

  /**
   * Multiboot 3.3 modules: each module page-aligned from the first page after the kernel
   * (`kernelEnd`), then their 16-byte entries (mod_start, mod_end, string, 0) and command
   * lines. Returns mods_count and mods_addr (0 with none).
   */
  private loadModules(modules: { bytes: Uint8Array; cmdline: string }[], kernelEnd: number): { count: number; table: number } {
    const cpu = this.cpu, v = cpu.view;
    const page = (a: number) => (a + 0xfff) & ~0xfff;
    let at = page(kernelEnd);
    const placed = modules.map((m) => {
      const start = at;
      if (start + m.bytes.length > this.ramBytes) throw new ImageError(`module "${m.cmdline}" does not fit in ${this.ramBytes >> 20} MiB of RAM`);
      cpu.ram.set(m.bytes, start);
      at = page(start + m.bytes.length);
      return { start, end: start + m.bytes.length, cmdline: m.cmdline };
    });
    const table = at;
    let strings = table + 16 * placed.length;
    placed.forEach((m, i) => {
      v.setUint32(table + 16 * i, m.start, true);
      v.setUint32(table + 16 * i + 4, m.end, true);
      v.setUint32(table + 16 * i + 8, strings, true);
      v.setUint32(table + 16 * i + 12, 0, true);
      strings += this.writeString(strings, m.cmdline, this.ramBytes, "the modules' command lines do not fit in RAM");
    });
    return { count: placed.length, table: placed.length > 0 ? table : 0 };
  }

  /**
   * `text` as a NUL-terminated UTF-8 string at `at`; returns the bytes written. Refused
   * with `tooLong` when it would reach `end`.
   */
  private writeString(at: number, text: string, end: number, tooLong: string): number {
    const bytes = new TextEncoder().encode(text);
    if (at + bytes.length + 1 > end) throw new ImageError(tooLong);
    this.cpu.ram.set(bytes, at);
    this.cpu.ram[at + bytes.length] = 0;
    return bytes.length + 1;
  }

  /**
   * What PC firmware leaves behind: the BIOS data area words a kernel reads (COM1's port,
   * the extended BIOS data area's segment, the KiB of base memory below it); and, as
   * SeaBIOS does on QEMU -M pc (read back from a guest), the MP tables and the local APIC
   * software-enabled (SVR 0x1FF) with LINT0 unmasked ExtINT and LINT1 NMI, both level, so
   * the 8259 reaches the CPU in virtual wire mode.
   */
  private firmwareInterruptSetup(): void {
    // BDA (IBM PC/AT BIOS technical reference): 0x400 COM1 base, 0x40E EBDA segment, 0x413
    // base memory in KiB. A kernel looking for the MP floating pointer searches the EBDA's
    // first KiB or the last KiB of base memory (MP spec 4), then 0xF0000, where it is.
    const v = this.cpu.view;
    v.setUint16(0x400, 0x3f8, true);
    v.setUint16(0x40e, EBDA_ADDRESS >> 4, true);
    v.setUint16(0x413, EBDA_ADDRESS >> 10, true);
    writeMpTables(this.cpu.ram);
    const a = this.lapic;
    a.write(0xf0, 4, 0x1ff);
    a.write(0x350, 4, 0x8700);
    a.write(0x360, 4, 0x8400);
  }

  /** Multiboot 3.2 machine state: flat 4 GiB code and data, PE on, paging and IF off. */
  private enterFlatProtectedMode(): void {
    const cpu = this.cpu, s = cpu.s;
    const gdt = [0, 0, 0x0000ffff, 0x00cf9b00, 0x0000ffff, 0x00cf9300];
    gdt.forEach((w, i) => cpu.view.setUint32(BOOT_GDT_ADDRESS + i * 4, w >>> 0, true));
    s[Reg.GDTR_BASE] = BOOT_GDT_ADDRESS;
    s[Reg.GDTR_LIMIT] = 23;
    s[Reg.CR0] = Cr0.PE | Cr0.ET;
    s[Reg.CPL] = 0;
    for (const seg of [Seg.ES, Seg.SS, Seg.DS, Seg.FS, Seg.GS]) cpu.setSegment(seg, 0x10, 0, -1, 0xc093);
    cpu.setSegment(Seg.CS, 0x08, 0, -1, 0xc09b);
    cpu.syncMode();
  }

  /**
   * The multiboot information (multiboot 3.3) at MBI_ADDRESS, with the modules loadModules
   * placed and, when the header asked for it, video mode information.
   */
  private writeMultibootInfo(name: string, append: string, videoInfo: boolean, modules: { count: number; table: number }): void {
    const v = this.cpu.view;
    // The command line may run to 0x10000 (28 KiB), where nothing else lies below 1 MiB.
    this.writeString(CMDLINE_ADDRESS, append === "" ? name : `${name} ${append}`, CMDLINE_ADDRESS + 0x6f01, "the kernel command line is longer than 28 KiB");
    // mem_lower/upper (bit 0), cmdline (2), modules (3, with or without any, as QEMU sets it),
    // memory map (6), loader name (9), and the framebuffer (12) for a video mode.
    v.setUint32(MBI_ADDRESS + 0, (1 << 0) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 9) | (videoInfo ? 1 << 12 : 0), true);
    v.setUint32(MBI_ADDRESS + 4, EBDA_ADDRESS >> 10, true); // base memory below the EBDA
    v.setUint32(MBI_ADDRESS + 8, (this.ramBytes >> 10) - 1024, true);
    v.setUint32(MBI_ADDRESS + 16, CMDLINE_ADDRESS, true);
    v.setUint32(MBI_ADDRESS + 20, modules.count, true);
    v.setUint32(MBI_ADDRESS + 24, modules.table, true);
    // The memory map as QEMU's has it, for this machine: RAM below the EBDA, the EBDA and
    // the BIOS area (the MP tables) reserved, the VGA hole absent, RAM from 1 MiB to its
    // end (QEMU also reserves its firmware's tables at the top; there are none here).
    const map: [number, number, number][] = [
      [0, EBDA_ADDRESS, 1], [EBDA_ADDRESS, 0xa0000 - EBDA_ADDRESS, 2], [0xf0000, 0x10000, 2], [0x100000, this.ramBytes - 0x100000, 1],
    ];
    map.forEach(([base, length, type], i) => {
      const e = MMAP_ADDRESS + i * 24; // each entry: size (20, itself not counted), base, length, type
      v.setUint32(e, 20, true);
      v.setUint32(e + 4, base, true); v.setUint32(e + 8, 0, true);
      v.setUint32(e + 12, length, true); v.setUint32(e + 16, 0, true);
      v.setUint32(e + 20, type, true);
    });
    v.setUint32(MBI_ADDRESS + 44, map.length * 24, true);
    v.setUint32(MBI_ADDRESS + 48, MMAP_ADDRESS, true);
    this.writeString(LOADER_NAME_ADDRESS, "vmxlab", CMDLINE_ADDRESS, "the loader name does not fit");
    v.setUint32(MBI_ADDRESS + 64, LOADER_NAME_ADDRESS, true);
    if (videoInfo) {
      // The kernel asked for a video mode (header flags bit 2): the one there is, the CGA
      // text screen, as the framebuffer fields describe it (type 2, EGA text: width and
      // height in characters, 2 bytes each), as GRUB reports text mode.
      v.setUint32(MBI_ADDRESS + 88, 0xb8000, true); v.setUint32(MBI_ADDRESS + 92, 0, true);
      v.setUint32(MBI_ADDRESS + 96, 160, true); // pitch: bytes per row
      v.setUint32(MBI_ADDRESS + 100, 80, true);
      v.setUint32(MBI_ADDRESS + 104, 25, true);
      v.setUint8(MBI_ADDRESS + 108, 16); // bits per character cell
      v.setUint8(MBI_ADDRESS + 109, 2);
    }
  }

  /**
   * COM1 input typed at a prompt: each line of `input` reaches the UART once the guest's
   * serial output ends with `prompt` (vmm/promptedInput.ts), instead of all at power-on
   * (uart.receive).
   */
  typeAtPrompt(prompt: Uint8Array, input: Uint8Array): void {
    this.promptedInput = new PromptedInput(prompt, input, (line) => this.uart.receive(line));
  }

  /**
   * Runs until the guest exits, halts, shuts down, or `maxInstructions` retire. With
   * `untilCycle`, also stops ("quantum") once the cycle count reaches it: a halted CPU then
   * idles up to that cycle instead of ending the run, so a caller interleaving machines or
   * waiting for host input can deliver what arrives and call run() again.
   */
  run(options: { maxInstructions?: number; untilCycle?: number } = {}): RunResult {
    const cpu = this.cpu;
    this.ramTouched = true;
    const limit = options.maxInstructions ?? Number.MAX_SAFE_INTEGER;
    const until = options.untilCycle ?? Infinity;
    let quantum: { halted: boolean; waiting: boolean } | null = null;
    const start = cpu.retired, startSteps = cpu.retired + cpu.eventsDelivered;
    let stop: StopReason;
    // Steps done when the CPU last went to sleep: waking up to a timer edge that brings
    // no interrupt (IRQ 0 masked) would otherwise idle forever.
    let sleptAt = -1;
    // Run until the next timer event, let the timers raise their interrupts, go on. A
    // halted CPU with IF = 1 sleeps until the next event (its cycles count as idle).
    for (;;) {
      stop = cpu.runFor(limit - (cpu.retired + cpu.eventsDelivered - startSteps), Math.min(this.serviceTimers(), until));
      // The text screen asks to be looked at after each row's worth of stores.
      if (this.screen.dirty) this.showScreen(this.screen.sample());
      if (stop === "deadline") {
        if (cpu.accounting.cycles() >= until) { quantum = { halted: false, waiting: false }; break; }
        continue;
      }
      if (stop === "halt" && (cpu.getEflags() & 0x200) !== 0) {
        // The guest may have programmed the timer since the deadline was computed.
        const wake = this.serviceTimers();
        const steps = cpu.retired + cpu.eventsDelivered;
        // A device answer may bring no interrupt (the frontend did not ask for one); its
        // work is finite, so sleeping to it again cannot go on forever.
        const deviceDue = this.pvBlock !== null && this.pvBlock.nextDeadline() <= wake;
        const wakes = wake !== Infinity && (steps !== sleptAt || deviceDue);
        if (wakes && wake < until) { sleptAt = steps; cpu.idleUntil(wake); continue; }
        if (until !== Infinity) {
          // Halted across the boundary: idle to it; only an outside event helps when nothing is due.
          cpu.idleUntil(until);
          quantum = { halted: true, waiting: !wakes };
          break;
        }
        if (wakes) { sleptAt = steps; cpu.idleUntil(wake); continue; }
      }
      break;
    }
    const instructions = cpu.retired - start;
    if (quantum !== null) return { reason: "quantum", instructions, ...quantum };
    switch (stop) {
      case "stop":
        if (this.resetRequested) return { reason: "shutdown", instructions, message: "the guest reset the CPU through the 8042 (no reboot)" };
        return { reason: "debug-exit", exitCode: this.debugExit.value ?? 0, instructions };
      case "halt": {
        const intr = (cpu.getEflags() & 0x200) !== 0;
        return { reason: "halt", instructions, message: intr ? "HLT with interrupts enabled and no interrupt due" : "HLT with interrupts disabled" };
      }
      case "shutdown": return { reason: "shutdown", instructions, message: cpu.stopMessage };
      case "unsupported": return { reason: "error", instructions, message: cpu.stopMessage };
      default: return { reason: "limit", instructions };
    }
  }

  /**
   * Drives ISA interrupt line `line` (0-15) to `level`: every device's interrupt goes
   * through here, so the interrupt controllers that listen are wired in one place.
   */
  setIrq(line: number, level: boolean): void {
    this.pic.setIrq(line, level);
    // Every ISA line also reaches an I/O APIC input (IRQ 0 on INTIN2, as the MP table says).
    this.ioapic.setPin(isaIrqToIoApicPin(line), level);
  }

  /** An edge on line `line` (a timer's output pulsing). */
  pulseIrq(line: number): void {
    this.pic.pulseIrq(line);
    const pin = isaIrqToIoApicPin(line);
    this.ioapic.setPin(pin, true);
    this.ioapic.setPin(pin, false);
  }

  /** Shows what is left on the text screen (call once, when the run is over for good). */
  finishScreen(): void {
    if (this.screen.used) this.showScreen(this.screen.finish());
  }

  private showScreen(lines: string[]): void {
    if (lines.length > 0 && this.onScreen !== null) this.onScreen(lines);
  }

  /** Lets the timers and timed devices do what is due; returns the cycle of their next event, or Infinity. */
  private serviceTimers(): number {
    this.pit.service();
    this.lapic.service();
    const pit = this.pit.nextInterruptTick(), apic = this.lapic.nextInterruptTick();
    let wake = Math.min(pit === Infinity ? Infinity : this.cycleOfTick(pit), apic === Infinity ? Infinity : this.cycleOfApicTick(apic));
    if (this.pvBlock !== null) {
      this.pvBlock.service(this.cpu.accounting.cycles());
      wake = Math.min(wake, this.pvBlock.nextDeadline());
    }
    return wake;
  }

  /** The local APIC timer's input clock (profile apicTimerClock, hz/divisor Hz): ticks so far, exact. */
  private apicTick(): number {
    const { hz, divisor } = this.cpu.accounting.profile.apicTimerClock;
    // Exact inside the hot loop too: an MMIO access folds the retirement counts first.
    const cycles = this.cpu.accounting.cycles();
    return Number((BigInt(cycles) * BigInt(hz)) / (BigInt(divisor) * BigInt(this.cpu.accounting.clockHz)));
  }

  /** The first cycle at which the APIC timer clock has reached `tick`. */
  private cycleOfApicTick(tick: number): number {
    const { hz, divisor } = this.cpu.accounting.profile.apicTimerClock;
    const num = BigInt(tick) * BigInt(divisor) * BigInt(this.cpu.accounting.clockHz), h = BigInt(hz);
    return Number((num + h - 1n) / h);
  }

  /** The 8254's clock: cycles so far at the profile's core clock, in 1.193182 MHz ticks (exact). */
  private pitTick(): number {
    const hz = BigInt(this.cpu.accounting.clockHz);
    return Number((BigInt(this.cpu.accounting.cycles()) * BigInt(PIT_HZ)) / hz);
  }

  /** The first cycle at which the 8254 clock has reached `tick`. */
  private cycleOfTick(tick: number): number {
    const hz = BigInt(this.cpu.accounting.clockHz), pit = BigInt(PIT_HZ);
    return Number((BigInt(tick) * hz + pit - 1n) / pit);
  }

  get instructionsRetired(): number {
    return this.cpu.retired;
  }
}
