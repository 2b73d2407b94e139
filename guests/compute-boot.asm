; output: compute-boot.img
; compute-boot - compute.elf wrapped in a boot image (include/bootwrap.inc) for BIOS-only
; peers such as Bochs; the kernel bytes are those of compute.elf.
; Expected output: same as compute.asm

%include "bootwrap.inc"
%include "../compute.asm"
