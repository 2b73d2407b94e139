; output: ring3-boot.img
; ring3-boot - ring3.elf wrapped in a boot image (include/bootwrap.inc) for BIOS-only
; peers such as Bochs; the kernel bytes are those of ring3.elf.
; Expected output: same as ring3.asm

%include "bootwrap.inc"
%include "../ring3.asm"
