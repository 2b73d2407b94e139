// The colour text screen (src/dev/cgaText.ts): what the guest writes at 0xB8000 reaches
// the console as lines. Oracles: cga.elf writes every line to COM1 as well, so the
// mirrored lines must be exactly the COM1 lines; the unit cases are worked by hand.
import { describe, expect, it } from "vitest";
import fs from "node:fs";
import { Machine } from "../dist/index.js";
import { CgaText, CGA_TEXT_BASE, COLUMNS, DOTS_PER_FRAME } from "../dist/dev/cgaText.js";

/** A machine whose screen is driven by the test: `put(row, text)` stores characters. */
function screenOf() {
  const m = new Machine({ ramBytes: 1 << 20 });
  const put = (row: number, text: string, column = 0) => {
    for (let i = 0; i < text.length; i++) {
      m.guestRam.write16(CGA_TEXT_BASE + (row * COLUMNS + column + i) * 2, 0x0700 | text.charCodeAt(i));
    }
  };
  const clearRow = (row: number) => { for (let c = 0; c < COLUMNS; c++) m.guestRam.write16(CGA_TEXT_BASE + (row * COLUMNS + c) * 2, 0x0720); };
  /** Rows 1..24 move up one and the last row is cleared, as a console driver scrolls. */
  const scroll = () => {
    m.guestRam.write(CGA_TEXT_BASE, m.guestRam.read(CGA_TEXT_BASE + COLUMNS * 2, COLUMNS * 24 * 2));
    clearRow(24);
  };
  return { m, screen: m.screen as CgaText, put, scroll };
}

describe("text screen mirror", () => {
  it("cga.elf: the lines mirrored from the screen are the lines it wrote to COM1", () => {
    const m = new Machine();
    let serial = "";
    const lines: string[] = [];
    m.onSerial = (b: number) => { serial += String.fromCharCode(b); };
    m.onScreen = (l: string[]) => lines.push(...l);
    m.loadImage(new Uint8Array(fs.readFileSync("guests/cga.elf")), { name: "cga.elf" });
    expect(m.run({ maxInstructions: 10_000_000 }).reason).toBe("debug-exit");
    m.finishScreen();
    // 40 numbered lines (17 scroll off the top), the cursor line, the retrace line and
    // "bye": each appears once, in order.
    expect(lines.length).toBe(43);
    expect(lines[41]).toBe("vertical retrace seen");
    expect(lines.join("\n") + "\n").toBe(serial);
  });

  it("prints a row once the writer has moved below it, and the last row at the end", () => {
    const { screen, put } = screenOf();
    put(0, "abc");
    expect(screen.sample()).toEqual([]); // row 0 may still grow
    put(1, "d");
    expect(screen.sample()).toEqual(["abc"]);
    put(1, "ef", 1);
    expect(screen.sample()).toEqual([]);
    expect(screen.finish()).toEqual(["def"]);
  });

  it("follows a scroll: rows already printed are not printed again", () => {
    const { screen, put, scroll } = screenOf();
    for (let r = 0; r < 25; r++) put(r, `row ${r}`);
    // Rows 0-23 are final (row 24 is the one being written).
    expect(screen.sample()).toEqual(Array.from({ length: 24 }, (_, r) => `row ${r}`));
    // Two scrolls and two new rows between samples: "row 24" moved up to row 22 and is
    // now final, "row 25" (row 23) too; "row 26" on the last row is still being written.
    scroll(); put(24, "row 25");
    scroll(); put(24, "row 26");
    expect(screen.sample()).toEqual(["row 24", "row 25"]);
    expect(screen.finish()).toEqual(["row 26"]);
  });

  it("prints a finished row again when it is rewritten in place, and a cleared screen's new text", () => {
    const { m, screen, put } = screenOf();
    put(0, "status 1"); put(1, "log a"); put(2, "x");
    expect(screen.sample()).toEqual(["status 1", "log a"]);
    put(0, "status 2");
    // Row 0 changed after it was printed: it and the rows after it come again.
    expect(screen.sample()).toEqual(["status 2", "log a"]);
    for (let a = 0; a < 4000; a += 2) m.guestRam.write16(CGA_TEXT_BASE + a, 0x0720);
    put(0, "fresh"); put(1, "y");
    expect(screen.sample()).toEqual(["fresh"]);
  });

  it("shows code page 437 characters as the CGA character ROM draws them", () => {
    const { screen, put } = screenOf();
    put(0, "\u00b0\u00c9\u00cd\u00bb\u0001\u00e1"); // bytes 0xB0 0xC9 0xCD 0xBB 0x01 0xE1
    expect(screen.finish()).toEqual(["░╔═╗☺ß"]);
  });

  it("reads back the CRT controller's cursor registers", () => {
    const m = new Machine({ ramBytes: 1 << 20 });
    // Cursor location 0x0785 = 1925 = 24 * 80 + 5: row 24, column 5.
    m.ports.out(0x3d4, 1, 0x0e); m.ports.out(0x3d5, 1, 0x07);
    m.ports.out(0x3d4, 1, 0x0f); m.ports.out(0x3d5, 1, 0x85);
    m.ports.out(0x3d4, 1, 0x0e);
    expect(m.ports.in(0x3d5, 1)).toBe(0x07);
    expect(m.ports.in(0x3d4, 1)).toBe(0x0e);
    expect(m.screen.cursor).toEqual({ row: 24, column: 5 });
  });

  it("input status 1 (0x3DA): blanking after 720 dots or 400 lines, vertical retrace on lines 412-413", () => {
    let dots = 0;
    const m = new Machine({ ramBytes: 1 << 20 });
    const crt = new CgaText(m.guestRam, () => dots);
    const status = (d: number) => { dots = d; return crt.read(0x3da); };
    // 900 dots a line, 449 lines a frame (VGA 720x400 text timing).
    expect(DOTS_PER_FRAME).toBe(900 * 449);
    expect(status(0)).toBe(0);              // line 0, dot 0: visible
    expect(status(719)).toBe(0);            // last visible dot of line 0
    expect(status(720)).toBe(1);            // horizontal blanking
    expect(status(400 * 900)).toBe(1);      // line 400: vertical blanking
    expect(status(412 * 900)).toBe(9);      // line 412: retrace (and blanking)
    expect(status(413 * 900 + 899)).toBe(9);
    expect(status(414 * 900)).toBe(1);      // retrace over
    expect(status(DOTS_PER_FRAME + 5)).toBe(0); // the next frame's first line
  });
});
