// Debug features and self-modifying code, on hand-assembled ring-0 code loaded flat at
// 1 MiB. Expected values are hand calculations from the SDM rules cited beside each test.
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { Reg, Flag } from "../src/state/layout.js";

const BASE = 0x100000;

function machineWith(code: number[]): Machine {
  const m = new Machine({ ramBytes: 4 << 20 });
  m.loadImage(Uint8Array.from(code), { format: "flat", loadAddress: BASE });
  m.cpu.stopOnException = true;
  return m;
}

/** Sets DR7 as MOV DR7 would (bit 10 reads as 1) and arms the breakpoints. */
function setDr7(m: Machine, value: number): void {
  m.cpu.s[Reg.DR0 + 7] = value | 0x400;
  m.cpu.syncMode();
}

describe("data breakpoints (SDM 3A 17.2.4, 17.3.1.2: traps after the access)", () => {
  const store = [0xa3, 0x00, 0x20, 0x00, 0x00, 0x90]; // mov [0x2000], eax ; nop
  const load = [0xa1, 0x00, 0x20, 0x00, 0x00, 0x90]; // mov eax, [0x2000] ; nop

  it("a write breakpoint stops after the writing instruction with DR6.B0", () => {
    const m = machineWith(store);
    m.cpu.s[Reg.DR0] = 0x2000;
    setDr7(m, 0x1 | (0b01 << 16) | (0b11 << 18)); // L0, R/W0 = write, LEN0 = 4 bytes
    m.run({ maxInstructions: 10 });
    expect(m.cpu.pendingException).toBe(true);
    expect(m.cpu.s[Reg.EXIT_VECTOR]).toBe(1);
    expect(m.cpu.s[Reg.EIP]).toBe(BASE + 5); // the next instruction: a trap
    expect(m.cpu.s[Reg.DR0 + 6] & 0xf).toBe(0b0001);
  });

  it("a read does not trigger a write-only breakpoint", () => {
    const m = machineWith(load);
    m.cpu.s[Reg.DR0] = 0x2000;
    setDr7(m, 0x1 | (0b01 << 16) | (0b11 << 18));
    m.run({ maxInstructions: 2 });
    expect(m.cpu.pendingException).toBe(false);
    expect(m.cpu.s[Reg.EIP]).toBe(BASE + 6);
  });

  it("a read/write breakpoint triggers on a read, and on a wider access that overlaps it", () => {
    const m = machineWith(load);
    m.cpu.s[Reg.DR0 + 2] = 0x2003; // one byte inside the dword read
    setDr7(m, (0x1 << 4) | (0b11 << 24) | (0b00 << 26)); // L2, R/W2 = read/write, LEN2 = 1
    m.run({ maxInstructions: 10 });
    expect(m.cpu.s[Reg.EXIT_VECTOR]).toBe(1);
    expect(m.cpu.s[Reg.DR0 + 6] & 0xf).toBe(0b0100);
  });
});

describe("instruction breakpoints and single-step (SDM 3A 17.3.1.1, 17.3.1.4)", () => {
  it("an execute breakpoint is a fault: EIP is the breakpoint address", () => {
    const m = machineWith([0x90, 0x90, 0x90]);
    m.cpu.s[Reg.DR0 + 1] = BASE + 2;
    setDr7(m, 0x1 << 2); // L1, R/W1 = execute, LEN1 = 1
    m.run({ maxInstructions: 10 });
    expect(m.cpu.s[Reg.EXIT_VECTOR]).toBe(1);
    expect(m.cpu.s[Reg.EIP]).toBe(BASE + 2);
    expect(m.cpu.s[Reg.DR0 + 6] & 0xf).toBe(0b0010);
  });

  it("TF traps after each instruction with DR6.BS", () => {
    const m = machineWith([0x90, 0x40, 0x90]); // nop ; inc eax ; nop
    m.cpu.setEflags(m.cpu.getEflags() | Flag.TF);
    m.run({ maxInstructions: 10 });
    expect(m.cpu.s[Reg.EXIT_VECTOR]).toBe(1);
    expect(m.cpu.s[Reg.EIP]).toBe(BASE + 1);
    expect(m.cpu.s[Reg.DR0 + 6] & 0x4000).toBe(0x4000);
  });
});

describe("self-modifying code (SDM 3A 8.1.3: a write to code is seen by the next fetch)", () => {
  it("re-decodes an instruction whose immediate was rewritten after it ran once", () => {
    // 100000 mov al,1 | 100002 add bl,al | 100004 inc cl | 100006 cmp cl,2 | 100009 je 100014
    // 10000B mov byte [100001],5 | 100012 jmp 100000 | 100014 hlt
    const m = machineWith([0xb0, 0x01, 0x00, 0xc3, 0xfe, 0xc1, 0x80, 0xf9, 0x02, 0x74, 0x09,
      0xc6, 0x05, 0x01, 0x00, 0x10, 0x00, 0x05, 0xeb, 0xec, 0xf4]);
    m.cpu.stopOnException = false;
    const r = m.run({ maxInstructions: 100 });
    expect(r.reason).toBe("halt");
    // Pass 1 adds 1, pass 2 adds the rewritten 5: BL = 6 (a stale decode would give 2).
    expect(m.cpu.s[Reg.EBX] & 0xff).toBe(6);
  });
});
