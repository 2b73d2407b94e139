// The wasm engine's memory is made at its full size and never grows (vmm/wasmEngine.ts):
// growing detaches the ArrayBuffer that the Cpu's views stand on, and one detached buffer
// in a process makes V8 check every typed-array access for detachment from then on, which
// slowed the TypeScript side of every exit by 15-20 %. A detached buffer's byteLength is 0.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { Machine } from "../src/vmm/machine.js";
import { totalBytes } from "../src/state/layout.js";

describe("the wasm engine's memory", () => {
  for (const ramBytes of [2 << 20, 32 << 20, 256 << 20]) {
    it(`with ${ramBytes >> 20} MiB of RAM: made big enough at once, and still the same buffer after a run`, () => {
      const m = new Machine({ ramBytes, engine: "wasm" });
      const buffer = m.cpu.buffer;
      m.loadImage(fs.readFileSync(new URL("../guests/hello.elf", import.meta.url)));
      const r = m.run({ maxInstructions: 1e6 });
      expect(r.reason).toBe("debug-exit");
      expect(buffer.byteLength).toBeGreaterThanOrEqual(totalBytes(ramBytes));
      expect(m.cpu.buffer).toBe(buffer);
    });
  }
});
