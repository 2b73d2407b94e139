// Serial input typed at a prompt, deterministically: the input is held back a line at a
// time, and each line goes to the guest once its serial output ends with the prompt (what
// a person at the terminal, or an expect script against QEMU, does). Input queued at power-on
// instead can reach a kernel before it listens: xv6 reads and drops a byte while probing
// the UART, and an edge-triggered I/O APIC input unmasked after the byte arrived never
// sees an edge (82093AA datasheet: edges on a masked input are ignored).
//
// The line is handed over while the guest executes the OUT that completed the prompt, so
// the run stays a function of its inputs: no host time is involved.

export class PromptedInput {
  private readonly lines: Uint8Array[] = [];
  /** The last prompt.length bytes the guest wrote, as a ring. */
  private readonly tail: Uint8Array;
  private written = 0;

  /**
   * `input` is cut after each newline (a last piece without one is the final line); each
   * piece goes to `deliver` when the output ends with `prompt` (not empty).
   */
  constructor(private readonly prompt: Uint8Array, input: Uint8Array, private readonly deliver: (line: Uint8Array) => void) {
    if (prompt.length === 0) throw new Error("PromptedInput: the prompt is empty");
    this.tail = new Uint8Array(prompt.length);
    let start = 0;
    for (let i = 0; i < input.length; i++) {
      if (input[i] === 10) { this.lines.push(input.subarray(start, i + 1)); start = i + 1; }
    }
    if (start < input.length) this.lines.push(input.subarray(start));
  }

  /** Lines not yet delivered. */
  get pending(): number { return this.lines.length; }

  /** One byte of the guest's serial output. */
  observe(byte: number): void {
    const n = this.prompt.length;
    this.tail[this.written % n] = byte;
    this.written++;
    if (this.lines.length === 0 || this.written < n) return;
    for (let i = 0; i < n; i++) if (this.tail[(this.written + i) % n] !== this.prompt[i]) return;
    this.deliver(this.lines.shift()!);
  }
}
