// HostRunner (the one run loop host events reach) and the console's Ctrl-A escape. The
// waits are checked against the wall clock with generous bounds; the guests' outputs
// against the deterministic plain run.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { Machine } from "../dist/index.js";
import { HostRunner } from "../dist/vmm/hostRunner.js";
import { EscapeDecoder, CTRL_A } from "../dist/vmm/consoleInput.js";

/** A flat guest: `sti; hlt; jmp $-1`: halted with nothing due, forever. */
function halting() {
  const m = new Machine({ ramBytes: 2 << 20 });
  m.loadImage(Uint8Array.of(0xfb, 0xf4, 0xeb, 0xfd), { format: "flat" });
  return m;
}

function guest(name: string) {
  const m = new Machine();
  const out: number[] = [];
  m.onSerial = (b: number) => out.push(b);
  m.loadImage(new Uint8Array(fs.readFileSync(`guests/${name}.elf`)), { name: `${name}.elf` });
  return { m, text: () => Buffer.from(out).toString("latin1") };
}

describe("HostRunner", () => {
  it("a guest halted with nothing due and no open source ends as a plain run would, at once", async () => {
    const r = await new HostRunner(halting()).run();
    expect(r.reason).toBe("halt");
    expect(r.message).toMatch(/input closed/);
  });

  it("with a source open it waits for an event, until the wall-clock timeout", async () => {
    const runner = new HostRunner(halting());
    runner.sourceOpened();
    const t0 = performance.now();
    const r = await runner.run({ timeoutMs: 300 });
    expect(r.reason).toBe("timeout");
    expect(performance.now() - t0).toBeGreaterThanOrEqual(290);
  });

  it("wake() with nothing delivered lets the guest look again; sourceClosed() ends the wait", async () => {
    const runner = new HostRunner(halting());
    runner.sourceOpened();
    setTimeout(() => runner.wake(), 50);
    setTimeout(() => runner.sourceClosed(), 150);
    const t0 = performance.now();
    const r = await runner.run({ timeoutMs: 5000 });
    expect(r.reason).toBe("halt");
    const ms = performance.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(140);
    expect(ms).toBeLessThan(4000);
  });

  /**
   * A flat guest (nasm source below, assembled at 0x100000): the 8254's channel 0 in mode 2
   * with count 0 (65536), IRQ 0 through the master 8259 at vector 0x20, and HLT until two
   * ticks have been counted, then debug-exit 0. Two ticks are 2 * 65536 / 1193182 Hz =
   * 109.85 ms of guest time, nearly all of it halted.
   *     mov esp, 0x80000 / mov al, 0x34 / out 0x43, al / xor al, al / out 0x40, al / out 0x40, al
   *     ICW1 0x11, ICW2 0x20, ICW3 0x04, ICW4 0x01 to 0x20/0x21, mask 0xFE / lidt [idtr]
   *     xor ecx, ecx / sti / sleep: hlt / cmp ecx, 2 / jb sleep / mov al, 0 / out 0xF4, al
   *     isr: inc ecx / mov al, 0x20 / out 0x20, al / iret   (idtr at 0x40, IDT at 0x48)
   */
  const TWO_TICKS = Buffer.concat([
    Buffer.from("bc00000800b034e64330c0e640e640b011e620b020e621b004e621b001e621b0fee6210f011d4000100031c9fbf483f90272fab000e6f441b020e620cf9090900701480010009090", "hex"),
    Buffer.alloc(0x20 * 8), Buffer.from("37000800008e1000", "hex"), // gate 0x20: 0x100037, selector 8, interrupt gate
  ]);
  const twoTicks = () => { const m = new Machine({ ramBytes: 2 << 20 }); m.loadImage(new Uint8Array(TWO_TICKS), { format: "flat" }); return m; };

  it("paces a guest halted on its timer to the host clock, with the cycle count of a plain run", async () => {
    const plain = twoTicks();
    expect(plain.run()).toMatchObject({ reason: "debug-exit", exitCode: 0 });
    const guestMs = (plain.cpu.accounting.cycles() / plain.cpu.accounting.clockHz) * 1000;
    expect(guestMs).toBeGreaterThan(109.8); // the two ticks, hand-calculated above
    const live = twoTicks();
    const runner = new HostRunner(live);
    runner.sourceOpened(); // as with --interactive: input could still come
    const t0 = performance.now();
    const r = await runner.run({ timeoutMs: 20_000 });
    expect(r).toMatchObject({ reason: "debug-exit", exitCode: 0 });
    // The runner waits before each slice until host time reaches the guest's; a halted
    // guest's slice spans 10 ms, so at least 109.85 - 10 ms pass on the host.
    expect(performance.now() - t0).toBeGreaterThanOrEqual(95);
    expect(live.cpu.accounting.cycles()).toBe(plain.cpu.accounting.cycles());
  });

  it("timer.elf prints the same under HostRunner as in a plain run", async () => {
    const plain = guest("timer");
    expect(plain.m.run().reason).toBe("debug-exit");
    const live = guest("timer");
    const runner = new HostRunner(live.m);
    runner.sourceOpened();
    expect((await runner.run({ timeoutMs: 20_000 })).reason).toBe("debug-exit");
    expect(live.text()).toBe(plain.text());
  });
});

describe("console escape (QEMU -nographic's Ctrl-A)", () => {
  it("Ctrl-A x quits and drops what follows; Ctrl-A Ctrl-A is one Ctrl-A; Ctrl-A then another byte passes both", () => {
    const d = new EscapeDecoder();
    expect(d.feed(Uint8Array.of(0x61, CTRL_A, CTRL_A, 0x62, CTRL_A, 0x63))).toEqual([0x61, CTRL_A, 0x62, CTRL_A, 0x63]);
    expect(d.quit).toBe(false);
    expect(d.feed(Uint8Array.of(0x64, CTRL_A))).toEqual([0x64]); // the escape spans chunks
    expect(d.feed(Uint8Array.of(0x78, 0x65))).toEqual([]);
    expect(d.quit).toBe(true);
  });
});
