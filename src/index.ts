// vmxlab's library API.
export { Machine } from "./vmm/machine.js";
export type { MachineOptions, LoadOptions, RunResult, RunReason, VirtioDeviceSpec } from "./vmm/machine.js";
export { ImageError } from "./vmm/loader.js";
export { disassemble } from "./isa/disasm.js";
export const VERSION = "0.1.0";
