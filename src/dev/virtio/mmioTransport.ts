// The virtio-mmio transport, version 2 (virtio 1.2 4.2.2): one 0x200-byte register
// window per device, as QEMU's microvm places them. The transport owns device status,
// feature negotiation, queue setup and the interrupt line; the device type behind it
// (VirtioDevice) only sees ready queues.
//
// Devices complete requests synchronously: a store to QueueNotify runs the device on
// that queue before the store retires, so runs are deterministic.

import type { MmioDevice } from "../mmioBus.js";
import type { GuestRam } from "../dma.js";
import { DeviceStatus, DriverError, Feature, VirtioDevice, VirtioHost, bit } from "./virtio.js";
import { SplitVirtqueue, layoutProblem, MAX_QUEUE_SIZE } from "./splitVirtqueue.js";

/** Register offsets (virtio 1.2 4.2.2, table "MMIO Device Register Layout"). */
export const enum Mmio {
  MAGIC = 0x000, VERSION = 0x004, DEVICE_ID = 0x008, VENDOR_ID = 0x00c,
  DEVICE_FEATURES = 0x010, DEVICE_FEATURES_SEL = 0x014,
  DRIVER_FEATURES = 0x020, DRIVER_FEATURES_SEL = 0x024,
  QUEUE_SEL = 0x030, QUEUE_NUM_MAX = 0x034, QUEUE_NUM = 0x038, QUEUE_READY = 0x044,
  QUEUE_NOTIFY = 0x050, INTERRUPT_STATUS = 0x060, INTERRUPT_ACK = 0x064, STATUS = 0x070,
  QUEUE_DESC_LOW = 0x080, QUEUE_DESC_HIGH = 0x084, QUEUE_DRIVER_LOW = 0x090, QUEUE_DRIVER_HIGH = 0x094,
  QUEUE_DEVICE_LOW = 0x0a0, QUEUE_DEVICE_HIGH = 0x0a4,
  SHM_SEL = 0x0ac, SHM_LEN_LOW = 0x0b0, SHM_LEN_HIGH = 0x0b4, SHM_BASE_LOW = 0x0b8, SHM_BASE_HIGH = 0x0bc,
  CONFIG_GENERATION = 0x0fc, CONFIG = 0x100,
}

export const MMIO_MAGIC = 0x74726976; // "virt" in little-endian (4.2.2)
export const MMIO_WINDOW = 0x200;
/** The VendorID vmxlab reports ("VMXL" in little-endian); drivers match on DeviceID. */
export const VMXLAB_VENDOR_ID = 0x4c584d56;

/** InterruptStatus bits (4.2.2). */
export const enum Interrupt { USED_BUFFER = 1, CONFIG_CHANGE = 2 }

/** What the driver wrote for one queue before setting QueueReady. */
interface QueueSetup { num: number; desc: number; driver: number; device: number; ring: SplitVirtqueue | null }

const freshQueue = (max: number): QueueSetup => ({ num: max, desc: 0, driver: 0, device: 0, ring: null });

export class VirtioMmioTransport implements MmioDevice, VirtioHost {
  readonly name: string;
  private status = 0;
  private deviceFeaturesSel = 0;
  private driverFeaturesSel = 0;
  private driverFeatures = 0n;
  private accepted = 0n;
  private queueSel = 0;
  private queues: QueueSetup[];
  private interruptStatus = 0;
  private configGeneration = 0;
  /** Why the device last asked for a reset (DEVICE_NEEDS_RESET), for reports and tests. */
  needsResetReason: string | null = null;
  /** Accesses the driver made against 4.2.2.2 (wrong width, unaligned): answered 0 / ignored. */
  badAccesses = 0;
  /** Notifications ignored because the device was not live (before DRIVER_OK, queue not ready). */
  ignoredNotifications = 0;

  /** `device` null is an empty slot: DeviceID 0 (4.2.3.1.1). `irq(level)` drives the interrupt line. */
  constructor(
    readonly ram: GuestRam,
    private readonly device: VirtioDevice | null,
    private readonly irq: (level: boolean) => void,
    index = 0,
  ) {
    this.name = `virtio-mmio ${index}${device ? ` (${device.name})` : " (empty)"}`;
    this.queues = device ? Array.from({ length: device.queueCount }, () => freshQueue(device.queueMaxSize)) : [];
    device?.attach(this);
  }

  // --- VirtioHost: what the device sees ---------------------------------------------------

  get features(): bigint { return this.accepted; }

  queue(index: number): SplitVirtqueue | null {
    if (!this.live()) return null;
    return this.queues[index]?.ring ?? null;
  }

  usedBuffers(index: number): void {
    const ring = this.queues[index]?.ring;
    if (ring && ring.takeNotification()) this.raise(Interrupt.USED_BUFFER);
  }

  // --- MmioDevice -----------------------------------------------------------------------

  read(offset: number, size: number): number {
    if (offset >= Mmio.CONFIG) return this.readConfig(offset - Mmio.CONFIG, size);
    // 4.2.2.2: the control registers are 32-bit, aligned. QEMU answers 0 to anything else.
    if (size !== 4 || (offset & 3) !== 0) { this.badAccesses++; return 0; }
    const dev = this.device;
    switch (offset) {
      case Mmio.MAGIC: return MMIO_MAGIC;
      case Mmio.VERSION: return 2;
      case Mmio.DEVICE_ID: return dev ? dev.deviceId : 0;
      case Mmio.VENDOR_ID: return dev ? VMXLAB_VENDOR_ID : 0;
    }
    if (!dev) return 0;
    switch (offset) {
      case Mmio.DEVICE_FEATURES:
        return this.deviceFeaturesSel > 1 ? 0 : Number((dev.features >> BigInt(32 * this.deviceFeaturesSel)) & 0xffffffffn) | 0;
      case Mmio.QUEUE_NUM_MAX: return this.queues[this.queueSel] ? dev.queueMaxSize : 0;
      case Mmio.QUEUE_READY: return this.queues[this.queueSel]?.ring ? 1 : 0;
      case Mmio.INTERRUPT_STATUS: return this.interruptStatus;
      case Mmio.STATUS: return this.status;
      case Mmio.SHM_LEN_LOW: case Mmio.SHM_LEN_HIGH: return -1; // no shared memory regions (4.2.2: all ones)
      case Mmio.SHM_BASE_LOW: case Mmio.SHM_BASE_HIGH: return -1;
      case Mmio.CONFIG_GENERATION: return this.configGeneration;
      default: return 0; // write-only and reserved registers read as 0
    }
  }

  write(offset: number, size: number, value: number): void {
    if (offset >= Mmio.CONFIG) { this.writeConfig(offset - Mmio.CONFIG, size, value); return; }
    if (size !== 4 || (offset & 3) !== 0) { this.badAccesses++; return; }
    if (!this.device) return;
    const v = value >>> 0;
    const q = this.queues[this.queueSel];
    switch (offset) {
      case Mmio.DEVICE_FEATURES_SEL: this.deviceFeaturesSel = v; return;
      case Mmio.DRIVER_FEATURES_SEL: this.driverFeaturesSel = v; return;
      case Mmio.DRIVER_FEATURES:
        // Features are fixed once FEATURES_OK is set (3.1.1 step 5).
        if (this.driverFeaturesSel > 1 || (this.status & DeviceStatus.FEATURES_OK) !== 0) return;
        {
          const shift = BigInt(32 * this.driverFeaturesSel);
          this.driverFeatures = (this.driverFeatures & ~(0xffffffffn << shift)) | (BigInt(v) << shift);
        }
        return;
      case Mmio.QUEUE_SEL: this.queueSel = v; return;
      case Mmio.QUEUE_NUM: if (q && !q.ring) q.num = v; return;
      case Mmio.QUEUE_DESC_LOW: if (q && !q.ring) q.desc = setLow(q.desc, v); return;
      case Mmio.QUEUE_DESC_HIGH: if (q && !q.ring) q.desc = setHigh(q.desc, v); return;
      case Mmio.QUEUE_DRIVER_LOW: if (q && !q.ring) q.driver = setLow(q.driver, v); return;
      case Mmio.QUEUE_DRIVER_HIGH: if (q && !q.ring) q.driver = setHigh(q.driver, v); return;
      case Mmio.QUEUE_DEVICE_LOW: if (q && !q.ring) q.device = setLow(q.device, v); return;
      case Mmio.QUEUE_DEVICE_HIGH: if (q && !q.ring) q.device = setHigh(q.device, v); return;
      case Mmio.QUEUE_READY: if (q) this.setQueueReady(q, v !== 0); return;
      case Mmio.QUEUE_NOTIFY: this.notify(v); return;
      case Mmio.INTERRUPT_ACK: this.interruptStatus &= ~v; this.updateLine(); return;
      case Mmio.STATUS: this.writeStatus(v & 0xff); return;
      case Mmio.SHM_SEL: return;
      default: return;
    }
  }

  // --- Status and negotiation -----------------------------------------------------------

  private writeStatus(v: number): void {
    if (v === 0) { this.reset(); return; } // 4.2.2: writing 0 resets the device
    // DEVICE_NEEDS_RESET belongs to the device; a driver cannot clear status bits except by
    // reset (2.1.1), so bits it leaves out stay set.
    let next = this.status | (v & ~DeviceStatus.DEVICE_NEEDS_RESET);
    if ((v & DeviceStatus.FEATURES_OK) !== 0 && (this.status & DeviceStatus.FEATURES_OK) === 0) {
      if (this.acceptable(this.driverFeatures)) this.accepted = this.driverFeatures;
      else next &= ~DeviceStatus.FEATURES_OK; // 2.2.2: refuse by not setting FEATURES_OK
    }
    const wasOk = (this.status & DeviceStatus.DRIVER_OK) !== 0;
    this.status = next;
    if ((next & DeviceStatus.DRIVER_OK) !== 0 && !wasOk && (next & DeviceStatus.FEATURES_OK) === 0) {
      this.needsReset("DRIVER_OK without FEATURES_OK (3.1.1)");
    }
  }

  /** A subset of the offered features that includes VERSION_1 (2.2.2, 6.1). */
  private acceptable(f: bigint): boolean {
    const offered = this.device!.features;
    return (f & ~offered) === 0n && (f & bit(Feature.VERSION_1)) !== 0n;
  }

  private reset(): void {
    this.status = 0;
    this.driverFeatures = 0n;
    this.accepted = 0n;
    this.deviceFeaturesSel = 0;
    this.driverFeaturesSel = 0;
    this.queueSel = 0;
    this.queues = this.queues.map(() => freshQueue(this.device!.queueMaxSize));
    this.interruptStatus = 0; // 4.2.2.1: reset clears InterruptStatus and QueueReady
    this.needsResetReason = null;
    this.updateLine();
    this.device!.reset();
  }

  /** The device is usable: DRIVER_OK, features accepted, no reset pending. */
  private live(): boolean {
    const s = this.status;
    return (s & (DeviceStatus.DRIVER_OK | DeviceStatus.FEATURES_OK)) === (DeviceStatus.DRIVER_OK | DeviceStatus.FEATURES_OK) &&
      (s & (DeviceStatus.DEVICE_NEEDS_RESET | DeviceStatus.FAILED)) === 0;
  }

  /**
   * The device cannot go on until the driver resets it (2.1.2): DEVICE_NEEDS_RESET, and
   * after DRIVER_OK a configuration change notification. The queues are left alone.
   */
  needsReset(reason: string): void {
    if ((this.status & DeviceStatus.DEVICE_NEEDS_RESET) !== 0) return;
    this.needsResetReason = reason;
    this.status |= DeviceStatus.DEVICE_NEEDS_RESET;
    if ((this.status & DeviceStatus.DRIVER_OK) !== 0) {
      this.configGeneration = (this.configGeneration + 1) >>> 0;
      this.raise(Interrupt.CONFIG_CHANGE);
    }
  }

  // --- Queues -----------------------------------------------------------------------------

  private setQueueReady(q: QueueSetup, ready: boolean): void {
    if (!ready) { q.ring = null; return; }
    if (q.ring) return;
    if ((this.status & DeviceStatus.FEATURES_OK) === 0) { this.needsReset("QueueReady before FEATURES_OK (3.1.1)"); return; }
    const layout = { size: q.num, desc: q.desc, driver: q.driver, device: q.device };
    const problem = layoutProblem(this.ram, layout, Math.min(this.device!.queueMaxSize, MAX_QUEUE_SIZE));
    if (problem !== null) { this.needsReset(`queue ${this.queueSel}: ${problem}`); return; }
    q.ring = new SplitVirtqueue(this.ram, layout, (this.accepted & bit(Feature.EVENT_IDX)) !== 0n, (this.accepted & bit(Feature.INDIRECT_DESC)) !== 0n);
  }

  private notify(index: number): void {
    const q = this.queues[index];
    // 3.1.1: no notifications before DRIVER_OK; 4.2.2.1: no queue access while QueueReady is 0.
    if (!this.live() || !q || !q.ring) { this.ignoredNotifications++; return; }
    try {
      this.device!.notify(index);
    } catch (e) {
      if (e instanceof DriverError) this.needsReset(e.message);
      else throw e;
    }
  }

  // --- Interrupts -------------------------------------------------------------------------

  private raise(bits: number): void {
    this.interruptStatus |= bits;
    this.updateLine();
  }

  /** The line is level-triggered: high while any InterruptStatus bit is set (4.2.2). */
  private updateLine(): void {
    this.irq(this.interruptStatus !== 0);
  }

  // --- Device configuration space (4.2.2.2: accesses of the field's width) -----------------

  private readConfig(offset: number, size: number): number {
    if (!this.device || (offset & (size - 1)) !== 0) { this.badAccesses++; return 0; }
    const c = this.device.config();
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = (v << 8) | (offset + i < c.length ? c[offset + i] : 0);
    return v;
  }

  private writeConfig(offset: number, size: number, value: number): void {
    if (!this.device || (offset & (size - 1)) !== 0) { this.badAccesses++; return; }
    this.device.writeConfig(offset, size, value);
  }
}

const setLow = (a: number, low: number) => Math.floor(a / 0x100000000) * 0x100000000 + low;
const setHigh = (a: number, high: number) => high * 0x100000000 + (a % 0x100000000);
