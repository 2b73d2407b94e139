; output: pmboot.img
; pmboot - a boot sector that switches to protected mode by itself: fast A20 through
; port 0x92, a flat GDT, CR0.PE=1, a far jump to 32-bit code, then prints from
; protected mode. It uses no BIOS service, so it runs the same with a BIOS (QEMU,
; Bochs: the BIOS loads this sector at 0x7C00) and without one (vmxlab).
; Expected output (verified on QEMU 7.2):
;   pmboot: protected mode, CR0.PE=1
;   pmboot: A20 enabled
; Only CR0.PE is printed: the other CR0 bits depend on what ran before (reset value
; 0x60000010 per SDM Vol. 3A 9.1.1, while SeaBIOS leaves CD/NW clear).

%include "setup.inc"                ; macros only: no bytes before start

    bits 16
    org 0x7C00

start:
    cli
    xor ax, ax
    mov ds, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7C00              ; stack just below the boot sector
    jmp 0x0000:.canonical       ; some BIOSes enter at 07C0:0000; make CS:IP 0000:7Cxx
.canonical:
    ; Fast A20: port 0x92 (System Control Port A) bit 1 gates A20; bit 0 would
    ; reset the processor, so it is written as 0.
    in al, 0x92
    or al, 0x02
    and al, 0xFE
    out 0x92, al

    lgdt [gdtr]
    mov eax, cr0
    or eax, 1                   ; CR0.PE (SDM Vol. 3A 9.9.1 "Switching to Protected Mode")
    mov cr0, eax
    jmp dword 0x08:pm32         ; far jump right after MOV CR0 serialises and loads CS

    bits 32
pm32:
    LOAD_DATA_SEGMENTS 0x10         ; setup.inc: DS, ES, FS, GS, SS = flat data
    mov esp, 0x7C00

    call uart_init
    mov esi, msg_pm
    call uart_puts
    mov eax, cr0
    and al, 1
    add al, '0'
    call uart_putc
    call uart_newline

    ; A20 check: with A20 masked, 0x100500 aliases 0x000500.
    mov dword [0x000500], 0x11111111
    mov dword [0x100500], 0x22222222
    mov esi, msg_a20_on
    xor ebx, ebx                ; exit status 0
    cmp dword [0x000500], 0x11111111
    je .report
    mov esi, msg_a20_off
    mov ebx, 1
.report:
    call uart_puts
    mov eax, ebx
    jmp guest_exit

%define UART_PUTS_ONLY              ; print_hex32/print_dec would not fit in 510 bytes
%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    align 8, db 0
gdt:
    GDT_FLAT_KERNEL                             ; 0x00 null, 0x08 ring-0 code, 0x10 ring-0 data
gdt_end:
gdtr:   PSEUDO_DESC gdt, gdt_end - gdt

msg_pm:      db "pmboot: protected mode, CR0.PE=", 0
msg_a20_on:  db "pmboot: A20 enabled", 10, 0
msg_a20_off: db "pmboot: A20 NOT enabled", 10, 0

    times 510 - ($ - $$) db 0   ; fails to assemble if the code outgrows the sector
    dw 0xAA55                   ; boot signature: bytes 0x55 0xAA at offset 510
