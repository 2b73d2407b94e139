// The decoded-instruction record: DECODED_WORDS int32 words that the decoder writes, the
// decode cache holds (state/layout.ts) and the hot loop reads. Constants only, in the
// portable subset (docs/engine-decision.md), so the wasm build reads records with the
// same field layout; the decoder itself (decode.ts) is TypeScript only.

/** Word offsets inside a decoded record. */
export const enum Dw {
  TAG = 0, INFO = 1, OPS = 2, DISP = 3, IMM = 4, IMM2 = 5, ROW = 6,
  /** The event counter a retirement of this instruction increments (cost/event.ts). */
  COUNTER = 7,
}
export const DECODED_WORDS = 8;

/** Bit fields of Dw.INFO. */
export const enum Info {
  KIND_MASK = 0xff, SUB_SHIFT = 8, SUB_MASK = 0xff,
  LEN_SHIFT = 16, LEN_MASK = 0xf,
  SIZE_SHIFT = 20, SIZE_MASK = 0x7,
  O32 = 1 << 23, A32 = 1 << 24, REGFORM = 1 << 25,
  REP_SHIFT = 26, REP_MASK = 0x3, LOCK = 1 << 28, SEG_OVERRIDE = 1 << 29,
}
/** Bit fields of Dw.OPS: ModRM.reg, the r/m register or base, index, scale, segment. */
export const enum Ops { REG_MASK = 0xf, RM_SHIFT = 4, INDEX_SHIFT = 8, SCALE_SHIFT = 12, SEG_SHIFT = 16, ADDR16 = 1 << 20 }
/** A base or index field holding NO_REG means "none". */
export const NO_REG = 8;

