// vmxlab's library API.
export { Machine, EngineError, ENGINE_NAMES } from "./vmm/machine.js";
export type { MachineOptions, LoadOptions, RunResult, RunReason, VirtioDeviceSpec, EngineName } from "./vmm/machine.js";
export { ImageError } from "./vmm/loader.js";
// Two engines side by side, compared to the first difference (docs/lockstep.md).
export { runLockstep, runLockstepSystems, SingleMachine } from "./vmm/lockstep.js";
export type {
  LockstepOptions, LockstepResult, LockstepDifference, MachineFactory, LockstepSystem, SystemLockstepOptions, SystemLockstepResult,
} from "./vmm/lockstep.js";

export { disassemble } from "./isa/disasm.js";
export const VERSION = "0.1.0";
// Networking: a virtio-net device (pass it as { type: "device", device } in MachineOptions.virtio),
// the learning switch and the quantum scheduler for several machines in one process. The
// Node-only host pieces (src/vmm/udpTunnel.ts, hostRunner.ts) are imported from their files.
export { VirtioNet, defaultMac, formatMac } from "./dev/virtio/net.js";
export type { FrameSink, NetCounters } from "./dev/virtio/net.js";
export { EthernetSwitch } from "./dev/ethernetSwitch.js";
export { QuantumScheduler, runInQuanta, DEFAULT_QUANTUM } from "./vmm/quantumScheduler.js";
