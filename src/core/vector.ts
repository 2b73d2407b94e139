// Portable (docs/engine-decision.md): compiled by tsc and asc.

/** Exception vectors (SDM 3A 6.3.1 table 6-1). */
export const enum Vector {
  DE = 0, DB = 1, NMI = 2, BP = 3, OF = 4, BR = 5, UD = 6, NM = 7, DF = 8,
  TS = 10, NP = 11, SS = 12, GP = 13, PF = 14, MF = 16, AC = 17, MC = 18,
}
