// The MultiProcessor Specification 1.4 tables (Intel, May 1997, chapter 4) that PC firmware
// leaves in low memory for an SMP-aware OS: the MP floating pointer structure and the MP
// configuration table describing this machine's one processor, its ISA bus, the I/O APIC
// and how ISA interrupts reach it. The loader writes them as SeaBIOS does on QEMU's
// `-M pc`, without the PCI bus and PCI interrupt entries (this machine has no PCI).

import { CPUID_APIC, CPUID_FEATURES_EDX, CPUID_SIGNATURE } from "../cpu/system.js";
import { LAPIC_BASE, LAPIC_VERSION } from "../dev/localApic.js";
import { IOAPIC_BASE } from "../dev/ioApic.js";

/** In the BIOS ROM area 0xF0000-0xFFFFF, one of the places MP spec 4 tells an OS to search. */
export const MP_FLOATING_ADDRESS = 0xf0000;
export const MP_CONFIG_ADDRESS = 0xf0010;
/** The I/O APIC's ID in the table (and the chip's reset ID), as SeaBIOS gives it. */
export const MP_IOAPIC_ID = 0;
/** ISA IRQ -> I/O APIC input: the timer's IRQ 0 is wired to INTIN2 (the usual PC override), the rest 1:1. */
export const isaIrqToIoApicPin = (irq: number): number => (irq === 0 ? 2 : irq);

const ISA_BUS_ID = 0;

/** Writes both structures into `ram`; returns their addresses. */
export function writeMpTables(ram: Uint8Array): { floating: number; config: number } {
  const t: number[] = [];
  const u8 = (v: number) => t.push(v & 0xff);
  const u16 = (v: number) => { u8(v); u8(v >> 8); };
  const u32 = (v: number) => { u16(v); u16(v >>> 16); };
  const text = (s: string, n: number) => { for (let i = 0; i < n; i++) u8(i < s.length ? s.charCodeAt(i) : 0x20); };

  // Header (MP spec table 4-2); length, entry count and checksum are filled in below.
  text("PCMP", 4);
  u16(0); u8(4); u8(0);
  text("VMXLAB", 8);
  text("vmxlab MP 1.4", 12);
  u32(0); u16(0); // no OEM table
  u16(0); // entry count
  u32(LAPIC_BASE);
  u16(0); u8(0); u8(0); // no extended table
  let entries = 0;

  // Processor (table 4-4): APIC ID 0, its version, enabled + bootstrap; signature and features as CPUID.1 reports them.
  u8(0); u8(0); u8(LAPIC_VERSION & 0xff); u8(0x03);
  u32(CPUID_SIGNATURE); u32(CPUID_FEATURES_EDX | CPUID_APIC); u32(0); u32(0);
  entries++;
  // Bus (table 4-6, bus type strings in table 4-8).
  u8(1); u8(ISA_BUS_ID); text("ISA", 6);
  entries++;
  // I/O APIC (table 4-9): enabled.
  u8(2); u8(MP_IOAPIC_ID); u8(0x11); u8(0x01); u32(IOAPIC_BASE);
  entries++;
  // I/O interrupt assignments (table 4-11): INT, polarity and trigger "conform to the bus"
  // (ISA: active high, edge). IRQ 2 is the 8259 cascade and has no entry; INTIN2 is IRQ 0's.
  for (let irq = 0; irq < 16; irq++) {
    if (irq === 2) continue;
    u8(3); u8(0); u16(0); u8(ISA_BUS_ID); u8(irq); u8(MP_IOAPIC_ID); u8(isaIrqToIoApicPin(irq));
    entries++;
  }
  // Local interrupt assignments (table 4-13): the 8259 as ExtINT on the BSP's LINT0, NMI on every LINT1.
  u8(4); u8(3); u16(0); u8(ISA_BUS_ID); u8(0); u8(0); u8(0);
  u8(4); u8(1); u16(0); u8(ISA_BUS_ID); u8(0); u8(0xff); u8(1);
  entries += 2;

  t[4] = t.length & 0xff; t[5] = t.length >> 8;
  t[34] = entries & 0xff; t[35] = entries >> 8;
  t[7] = (256 - (t.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  ram.set(t, MP_CONFIG_ADDRESS);

  // Floating pointer (table 4-1): 16 bytes, spec rev 4, feature bytes 0 (a configuration
  // table is present; IMCRP clear: the PIC reaches the CPU in virtual wire mode).
  const f = [0x5f, 0x4d, 0x50, 0x5f, 0, 0, 0, 0, 1, 4, 0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 4; i++) f[4 + i] = (MP_CONFIG_ADDRESS >>> (8 * i)) & 0xff;
  f[10] = (256 - (f.reduce((a, b) => a + b, 0) & 0xff)) & 0xff;
  ram.set(f, MP_FLOATING_ADDRESS);
  return { floating: MP_FLOATING_ADDRESS, config: MP_CONFIG_ADDRESS };
}
