// CGA/VGA colour text mode as a console: 80x25 cells of (character, attribute) at
// physical 0xB8000, the CRT controller's index/data ports and the input status register.
//
// Stores to the text buffer mark the screen dirty; the machine samples a dirty screen
// between instructions, often enough that a guest cannot scroll a line off unseen, and
// turns it into lines for a terminal: a row is printed once a row below it has text (the
// writer moved on), a scroll moves what was printed up, and a row rewritten after it was
// printed is printed again. What is left on the last row is printed when the run ends.

import type { PortDevice } from "./portBus.js";
import type { GuestRam } from "./dma.js";
import type { WriteWatcher } from "../core/memory.js";

export const CGA_TEXT_BASE = 0xb8000;
export const COLUMNS = 80;
export const ROWS = 25;

/**
 * VGA 720x400 text timing (IBM VGA Technical Reference, mode 3): a 28.322 MHz dot clock,
 * 900 dots a line, 449 lines a frame; lines 412-413 are the vertical sync.
 */
export const DOT_CLOCK_HZ = 28_322_000;
const DOTS_PER_LINE = 900;
const LINES_PER_FRAME = 449;
const VISIBLE_DOTS = 720, VISIBLE_LINES = 400, VSYNC_FIRST = 412, VSYNC_LINES = 2;
export const DOTS_PER_FRAME = DOTS_PER_LINE * LINES_PER_FRAME;

/** Code page 437 above 0x7F, as the CGA character ROM draws it. */
const CP437_HIGH =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
  "αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";
const CP437_LOW = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼";

/** The character a cell shows; NUL (RAM never written) and space are blank. */
function glyph(code: number): string {
  if (code >= 0x20 && code < 0x7f) return String.fromCharCode(code);
  if (code >= 0x80) return CP437_HIGH[code - 0x80];
  return code === 0x7f ? "⌂" : CP437_LOW[code];
}

export class CgaText implements PortDevice, WriteWatcher {
  readonly name = "CGA text";
  /** CRT controller registers 0x00-0x18 (cursor start/end 0x0A-0x0B, start address 0x0C-0x0D, cursor 0x0E-0x0F). */
  private readonly crtc = new Uint8Array(0x19);
  private crtcIndex = 0;
  /** The rows as last sampled, and how many of them (from the top) have been printed. */
  private shown: string[] = new Array<string>(ROWS).fill("");
  private printed = 0;
  /** The guest has stored to the text buffer (since the last sample / ever). */
  dirty = false;
  used = false;

  /** `dots()` is the dot clock's count so far (from the cycle clock). */
  constructor(private readonly ram: GuestRam, private readonly dots: () => number) {}

  read(port: number): number {
    switch (port) {
      case 0x3d4: return this.crtcIndex;
      case 0x3d5: return this.crtcIndex < this.crtc.length ? this.crtc[this.crtcIndex] : 0xff;
      default: return this.inputStatus();
    }
  }

  write(port: number, _size: number, value: number): void {
    if (port === 0x3d4) this.crtcIndex = value & 0x1f;
    else if (port === 0x3d5 && this.crtcIndex < this.crtc.length) this.crtc[this.crtcIndex] = value;
  }

  /** Input Status 1 (0x3DA): bit 0 display disabled (blanking), bit 3 vertical retrace. */
  private inputStatus(): number {
    const inFrame = this.dots() % DOTS_PER_FRAME;
    const line = Math.floor(inFrame / DOTS_PER_LINE), dot = inFrame % DOTS_PER_LINE;
    const retrace = line >= VSYNC_FIRST && line < VSYNC_FIRST + VSYNC_LINES;
    const blank = line >= VISIBLE_LINES || dot >= VISIBLE_DOTS;
    return (blank ? 1 : 0) | (retrace ? 8 : 0);
  }

  /** The cursor cell (CRTC 0x0E-0x0F), as row and column. */
  get cursor(): { row: number; column: number } {
    const at = ((this.crtc[0x0e] << 8) | this.crtc[0x0f]) % (COLUMNS * ROWS);
    return { row: Math.floor(at / COLUMNS), column: at % COLUMNS };
  }

  /** The screen's rows as text, trailing blanks dropped. */
  rows(): string[] {
    const cells = this.ram.read(CGA_TEXT_BASE, COLUMNS * ROWS * 2);
    const out: string[] = [];
    for (let r = 0; r < ROWS; r++) {
      // Rebuild a row's text only when one of its characters changed (attributes are not shown).
      let changed = false;
      for (let c = 0; c < COLUMNS; c++) {
        const code = cells[(r * COLUMNS + c) * 2];
        if (this.codes[r * COLUMNS + c] !== code) { this.codes[r * COLUMNS + c] = code; changed = true; }
      }
      if (changed || this.text[r] === undefined) {
        let line = "";
        for (let c = 0; c < COLUMNS; c++) line += glyph(this.codes[r * COLUMNS + c]);
        this.text[r] = line.replace(/[ \u00a0]+$/, "");
      }
      out.push(this.text[r]);
    }
    return out;
  }

  /** The characters last read, and each row's text (so unchanged rows are not rebuilt). */
  private readonly codes = new Uint8Array(COLUMNS * ROWS);
  private readonly text: string[] = [];

  /** Bytes stored to the buffer since the last sample. */
  private storedSinceSample = 0;

  /** A store to the buffer; after a row's worth (or a scroll) the machine should look now. */
  written(_phys: number, size: number): boolean {
    this.dirty = true;
    this.used = true;
    this.storedSinceSample += size;
    return this.storedSinceSample >= COLUMNS * 2;
  }

  /** The lines that became final since the last sample. */
  sample(): string[] {
    return this.update(false);
  }

  /** The run is over: every line not yet printed, up to the last non-blank row. */
  finish(): string[] {
    return this.update(true);
  }

  private update(final: boolean): string[] {
    this.dirty = false;
    this.storedSinceSample = 0;
    const now = this.rows(), before = this.shown;
    let same = true;
    for (let r = 0; r < ROWS; r++) if (now[r] !== before[r]) { same = false; break; }
    if (same && !final) return [];
    // A scroll by k rows: what was on row r + k is now on row r (the new bottom rows aside).
    const k = scrollDistance(before, now);
    let printed = Math.max(0, this.printed - k);
    // A printed row that now differs from what was printed there is printed again.
    for (let r = 0; r < printed; r++) {
      if (now[r] !== before[r + k]) { printed = r; break; }
    }
    let last = ROWS - 1;
    while (last >= 0 && now[last] === "") last--;
    const upTo = final ? last + 1 : last; // the last row with text may still be being written
    const lines = printed < upTo ? now.slice(printed, upTo) : [];
    this.printed = Math.max(printed, upTo);
    this.shown = now;
    return lines;
  }
}

/**
 * The smallest k >= 1 such that `now` is `before` moved up k rows (rows that scrolled in
 * at the bottom may differ, and the row being written and those below it may have
 * grown), or 0 when the change is not a scroll.
 */
function scrollDistance(before: string[], now: string[]): number {
  // The last row with text, and the blank rows below it, may have been written since.
  let writing = ROWS - 1;
  while (writing > 0 && before[writing] === "") writing--;
  for (let k = 1; k < ROWS; k++) {
    let moved = true, text = false;
    for (let r = 0; r + k < ROWS; r++) {
      const was = before[r + k];
      if (r + k >= writing ? !now[r].startsWith(was) : now[r] !== was) { moved = false; break; }
      if (r + k < writing && was !== "") text = true; // a scroll moves some finished text
    }
    if (moved && text) return k;
  }
  return 0;
}
