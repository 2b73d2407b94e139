; output: bench-mem-paged.img
; The load/store benchmark of bench-mem.asm with 32-bit paging enabled, so that the
; difference between the two is the cost of address translation (issue #3).
%define PAGED
%include "guests/bench-mem.asm"
