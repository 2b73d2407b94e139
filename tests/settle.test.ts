// The hot loop settles complex instructions inside itself (core/hotLoop.ts runHot with
// `settle`, cpu/cpu.ts Cpu.settle) instead of returning to the run loop for each. It must
// still hand back to the run loop whenever that loop has something to do between two
// instructions. The case here: with IF = 1, an OUT makes a device assert its interrupt
// line. No shadow applies (SDM 3A 6.8.3 gives one to STI and MOV SS / POP SS only), so the
// interrupt is taken right after the OUT, before the next instruction; a loop that went on
// would run that instruction first.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { Reg } from "../src/state/layout.js";
import type { EngineName } from "../src/vmm/engine.js";

const VECTOR = 0x20;
const HANDLER = 0x0600;
/** A port nothing else claims, for a device that asserts the line when written. */
const PORT = 0xe0;

/**
 * A boot sector (real mode, 0000:7C00) that sets IF, writes the port, then counts in CX;
 * the handler at 0000:0600 copies CX to BX.
 */
function bootSector(): Uint8Array {
  const code = [
    0x31, 0xc9,             // xor cx, cx
    0xfb,                   // sti
    0x90,                   // nop            (the STI shadow ends here)
    0xe6, PORT,             // out PORT, al   (the device asserts its line)
    0x41,                   // inc cx
    0x41,                   // inc cx
    0xf4,                   // hlt
  ];
  const img = new Uint8Array(512);
  img.set(code);
  img[510] = 0x55; img[511] = 0xaa;
  return img;
}

function run(engine: EngineName) {
  const m = new Machine({ ramBytes: 1 << 20, engine });
  m.loadImage(bootSector(), { format: "bootsector" });
  const cpu = m.cpu;
  cpu.ram.set([0x89, 0xcb, 0xf4], HANDLER); // mov bx, cx; hlt
  cpu.view.setUint16(VECTOR * 4, HANDLER, true); // IVT entry: IP, then CS = 0
  cpu.view.setUint16(VECTOR * 4 + 2, 0, true);
  cpu.s[Reg.EBX] = 0xffff;
  let asserted = false, acknowledged = 0;
  m.ports.register(PORT, 1, { name: "line", read: () => 0xff, write: () => { asserted = true; } });
  cpu.interruptSource = { pending: () => asserted && acknowledged === 0, acknowledge: () => { acknowledged++; return VECTOR; } };
  m.run({ maxInstructions: 100 });
  return { bx: cpu.s[Reg.EBX] & 0xffff, cx: cpu.s[Reg.ECX] & 0xffff, acknowledged };
}

/**
 * Flat 32-bit protected mode, code at BASE, and every fault or INT n stopping the run
 * (stopOnException: the silicon oracle's mode) instead of being delivered. Each program
 * starts with an OUT to port 0x80 (nobody claims it): a complex instruction whose settling
 * ends the run's first slice (the devices' set-up asks for a reschedule), so that the stop
 * under test comes in a slice that would otherwise go on.
 */
const BASE = 0x100000;
function stopping(engine: EngineName, code: number[]) {
  const m = new Machine({ ramBytes: 4 << 20, engine });
  m.loadImage(Uint8Array.from(code), { format: "flat", loadAddress: BASE });
  m.cpu.stopOnException = true;
  const r = m.run({ maxInstructions: 100 });
  const s = m.cpu.s;
  // Machine.run reports such a stop as "limit"; the CPU holds the exception.
  return { stopped: r.reason === "limit" && m.cpu.pendingException, vector: s[Reg.EXIT_VECTOR], eip: s[Reg.EIP] - BASE,
    eax: s[Reg.EAX], retired: m.cpu.retired, events: m.cpu.eventsDelivered };
}

describe("a stop the loop settles still stops the run where it happened", () => {
  for (const engine of ["ts", "wasm"] as const) {
    it(`${engine}: INT n stops after itself (a trap: it retires, EIP past it, SDM 3A 6.5), and nothing after it runs`, () => {
      // mov eax, 1 (5 bytes) | out 0x80, al (2) | int 0x21 (2) | mov eax, 2 | hlt: MOV, OUT and INT retire.
      const r = stopping(engine, [0xb8, 1, 0, 0, 0, 0xe6, 0x80, 0xcd, 0x21, 0xb8, 2, 0, 0, 0, 0xf4]);
      // INT n retires like any instruction and is no event of its own.
      expect(r).toEqual({ stopped: true, vector: 0x21, eip: 9, eax: 1, retired: 3, events: 0 });
    });
    it(`${engine}: #DE stops at the DIV (a fault: EIP at it, SDM 3A 6.5), which does not retire`, () => {
      // mov eax, 1 | out 0x80, al (2) | xor ecx, ecx (2) | div ecx (2) at 9 | mov eax, 2 | hlt:
      // MOV, OUT and XOR retire.
      const r = stopping(engine, [0xb8, 1, 0, 0, 0, 0xe6, 0x80, 0x31, 0xc9, 0xf7, 0xf1, 0xb8, 2, 0, 0, 0, 0xf4]);
      // The #DE is one event (the step it ends), taken once: the run does not retry the DIV.
      expect(r).toEqual({ stopped: true, vector: 0, eip: 9, eax: 1, retired: 3, events: 1 });
    });
  }
});

describe("the hot loop hands back to the run loop when an interrupt becomes deliverable", () => {
  for (const engine of ["ts", "wasm"] as const) {
    it(`${engine}: an OUT that raises an interrupt line lets the interrupt in before the next instruction`, () => {
      // The handler ran once, before either INC CX: BX = 0. A loop that kept going after
      // the OUT would have counted to 1 or 2 first.
      expect(run(engine)).toEqual({ bx: 0, cx: 0, acknowledged: 1 });
    });
  }
});
