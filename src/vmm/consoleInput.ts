// Interactive COM1 input: bytes from the host's stdin reach the guest's UART as they
// arrive (through HostRunner, between slices). On a terminal, stdin is put in raw mode so
// every key is a byte for the guest, and QEMU -nographic's escape applies: Ctrl-A x quits,
// Ctrl-A Ctrl-A sends one Ctrl-A; any other byte after Ctrl-A is sent as it is, with the Ctrl-A.

export const CTRL_A = 0x01;

/** Splits typed bytes into bytes for the guest and a quit request (Ctrl-A x). */
export class EscapeDecoder {
  private escaped = false;
  quit = false;

  /** The bytes of `chunk` that go to the guest; sets `quit` on Ctrl-A x (later bytes are dropped). */
  feed(chunk: Uint8Array): number[] {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.quit) break;
      if (!this.escaped) {
        if (b === CTRL_A) this.escaped = true;
        else out.push(b);
        continue;
      }
      this.escaped = false;
      if (b === 0x78 /* x */) this.quit = true;
      else if (b === CTRL_A) out.push(CTRL_A);
      else out.push(CTRL_A, b);
    }
    return out;
  }
}

export interface InputStream {
  on(event: "data", f: (chunk: Buffer) => void): unknown;
  on(event: "end" | "close", f: () => void): unknown;
  resume(): unknown;
  isTTY?: boolean;
  setRawMode?: (raw: boolean) => unknown;
}

/**
 * Streams `input` to `receive` as it arrives. On a TTY: raw mode and the Ctrl-A escape.
 * `closed` is called once when nothing more can arrive; returns the decoder (its `quit`)
 * and a function that restores the terminal.
 */
export function streamInput(input: InputStream, receive: (bytes: number[]) => void, arrived: () => void, closed: () => void): { decoder: EscapeDecoder; restore: () => void } {
  const decoder = new EscapeDecoder();
  const tty = input.isTTY === true && typeof input.setRawMode === "function";
  if (tty) input.setRawMode!(true);
  let done = false;
  const end = () => { if (!done) { done = true; closed(); } };
  input.on("data", (chunk) => {
    const bytes = tty ? decoder.feed(chunk) : Array.from(chunk);
    if (bytes.length > 0) receive(bytes);
    arrived();
    if (decoder.quit) end();
  });
  input.on("end", end);
  input.on("close", end);
  input.resume();
  return { decoder, restore: () => { if (tty) input.setRawMode!(false); } };
}
