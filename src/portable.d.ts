// The portable subset (docs/engine-decision.md): files that both tsc and AssemblyScript
// compile name their integer types i32/u32 and doubles f64. asc knows these types; for tsc
// they are plain numbers. Types only: a helper function here would behave differently
// in the two builds, so portable code writes its conversions with operators instead.
declare type i32 = number;
declare type u32 = number;
declare type f64 = number;
declare type bool = boolean;
declare type u8 = number;
declare type u16 = number;
