// Serial input typed at a prompt (vmm/promptedInput.ts): each line goes to the guest when
// its output ends with the prompt, and only then. Expected deliveries by hand.
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PromptedInput } from "../src/vmm/promptedInput.js";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function feed(prompt: string, input: string, output: string): { at: number; line: string }[] {
  const got: { at: number; line: string }[] = [];
  let at = 0;
  const p = new PromptedInput(bytes(prompt), bytes(input), (line) => got.push({ at, line: text(line) }));
  for (const b of bytes(output)) { p.observe(b); at++; }
  return got;
}

describe("PromptedInput", () => {
  it("hands over one line per prompt, at the byte that completes it", () => {
    // "boot\n$ " is 7 bytes: the prompt ends at index 6; "ls out\n$ " ends 9 bytes later, at 15.
    expect(feed("$ ", "ls\necho hi\n", "boot\n$ ls out\n$ more\n$ ")).toEqual([{ at: 6, line: "ls\n" }, { at: 15, line: "echo hi\n" }]);
  });

  it("matches only at the end of the output, also when the prompt's start repeats", () => {
    expect(feed("$ ", "a\n", "$$x $")).toEqual([]);
    expect(feed("$ ", "a\n", "$$ ")).toEqual([{ at: 2, line: "a\n" }]);
  });

  it("a last piece without a newline is a line of its own; an empty prompt is refused", () => {
    expect(feed(">", "a\nb", ">>").map((d) => d.line)).toEqual(["a\n", "b"]);
    expect(() => new PromptedInput(new Uint8Array(0), bytes("x"), () => {})).toThrow(/empty/);
  });
});

describe("vmxlab run --serial-prompt", () => {
  it("types each line of multitask's input after a newline and prints what QEMU prints (multitask.asm)", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "vmxlab-prompt-"));
    const input = path.join(dir, "in.txt");
    fs.writeFileSync(input, "hello\nvmxlab\nquit\n");
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "run", "guests/multitask.elf", "--serial-input", input, "--serial-prompt", "\n"], { encoding: "utf8" });
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("multitask: start\necho: HELLO\necho: VMXLAB\necho: QUIT\nmultitask: lines 3\nsecond thread ran: ok\n" +
      "timer preempted thread 1: ok\nmultitask: failed checks: 0\n");
  });

  it("without --serial-input it is one line and status 2", () => {
    const r = spawnSync(process.execPath, ["dist/cli/main.js", "run", "guests/hello.elf", "--serial-prompt", "$ "], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe("vmxlab: --serial-prompt needs --serial-input FILE: the lines to type at the prompt");
  });
});
