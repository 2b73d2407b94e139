// Facts shared by every virtio device and transport (virtio 1.2, OASIS): the device
// status bits (2.1), the reserved feature bits (6), and the interface a device type
// (block, console, net...) implements to sit behind a transport.

import type { GuestRam } from "../dma.js";
import type { SplitVirtqueue } from "./splitVirtqueue.js";

/** Device status field bits (virtio 1.2 2.1). */
export const enum DeviceStatus {
  ACKNOWLEDGE = 1,
  DRIVER = 2,
  DRIVER_OK = 4,
  FEATURES_OK = 8,
  DEVICE_NEEDS_RESET = 64,
  FAILED = 128,
}

/** Reserved feature bits (virtio 1.2 6), as bit numbers. */
export const Feature = {
  INDIRECT_DESC: 28,
  EVENT_IDX: 29,
  VERSION_1: 32,
} as const;

/** The feature set with bit `n` set. */
export const bit = (n: number): bigint => 1n << BigInt(n);

/** Device IDs (virtio 1.2 5). 0 means "no device" on an MMIO transport (4.2.3.1.1). */
export const enum DeviceId { NONE = 0, NET = 1, BLOCK = 2, CONSOLE = 3 }

/**
 * The driver broke a rule the device relies on (a malformed descriptor chain, a request
 * with no place for its status...). The transport answers with DEVICE_NEEDS_RESET and a
 * configuration change notification (virtio 1.2 2.1.2) and stops using the queues.
 */
export class DriverError extends Error {}

/** What a device sees of its transport. */
export interface VirtioHost {
  readonly ram: GuestRam;
  /** The features the driver accepted (valid once FEATURES_OK is set). */
  readonly features: bigint;
  /** Queue `index` when the driver has set it up and the device may use it, else null. */
  queue(index: number): SplitVirtqueue | null;
  /** Call after adding used buffers to queue `index`: notifies the driver unless it suppressed that (2.7.7). */
  usedBuffers(index: number): void;
  /** The driver broke a rule outside a notification (see DriverError): DEVICE_NEEDS_RESET. */
  needsReset(reason: string): void;
}

/** A virtio device type behind a transport. */
export interface VirtioDevice {
  readonly name: string;
  readonly deviceId: DeviceId;
  /** Feature bits the device offers (VERSION_1 must be among them). */
  readonly features: bigint;
  /** Number of virtqueues and the largest size of each (QueueNumMax). */
  readonly queueCount: number;
  readonly queueMaxSize: number;
  /** The device-specific configuration space (read at offset 0x100 of an MMIO transport). */
  config(): Uint8Array;
  /** A driver store into the configuration space (most fields are read-only: ignore those). */
  writeConfig(offset: number, size: number, value: number): void;
  /** The transport connects the device to the guest once, before any other call. */
  attach(host: VirtioHost): void;
  /** Device reset (status 0): forget everything the driver set up. */
  reset(): void;
  /** The driver notified queue `index` (only after DRIVER_OK, with the queue ready). */
  notify(index: number): void;
}
