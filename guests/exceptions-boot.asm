; output: exceptions-boot.img
; exceptions-boot - exceptions.elf wrapped in a boot image (include/bootwrap.inc) for BIOS-only
; peers such as Bochs; the kernel bytes are those of exceptions.elf.
; Expected output: same as exceptions.asm

%include "bootwrap.inc"
%include "../exceptions.asm"
