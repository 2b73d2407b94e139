; output: modules.elf
; modules - the multiboot modules a loader passed (multiboot 0.6.96 3.3: info flags bit 3,
; mods_count at offset 20, mods_addr at 24; each entry mod_start, mod_end, string,
; reserved). For each module: its size, whether it starts on a page (this header asks for
; page-aligned modules, flags bit 0), its command line and its first 8 bytes in hex. Run
; with QEMU's -initrd "FILE ARGS,..." or vmxlab's --initrd with the same string.
; Expected output (verified on QEMU 7.2 with no -initrd):
;   modules: 0

%include "multiboot.inc"

    MULTIBOOT_ELF start

start:
    cli
    mov [boot_info], ebx
    LOAD_GDT gdtr, 0x08, 0x10
    mov esp, stack_top
    call uart_init

    mov esi, msg_count
    call uart_puts
    mov ebx, [boot_info]
    xor eax, eax
    test dword [ebx], MBI_FLAG_MODS
    jz .count
    mov eax, [ebx + MBI_MODS_COUNT]
.count:
    mov [count], eax
    call print_dec
    call uart_newline
    cmp dword [count], 0
    je .exit
    mov edi, [ebx + MBI_MODS_ADDR]
    xor ecx, ecx
.module:
    mov esi, msg_module
    call uart_puts
    mov eax, ecx
    call print_dec
    mov esi, msg_colon
    call uart_puts
    mov eax, [edi + 4]
    sub eax, [edi]
    call print_dec
    mov esi, msg_bytes
    call uart_puts
    test dword [edi], 0xfff
    mov esi, msg_aligned
    jz .aligned
    mov esi, msg_unaligned
.aligned:
    call uart_puts
    mov esi, [edi + 8]
    call uart_puts
    mov esi, msg_first
    call uart_puts
    mov esi, [edi]
    mov edx, [edi + 4]
    sub edx, esi
    cmp edx, 8
    jbe .bytes
    mov edx, 8
.bytes:
    test edx, edx
    jz .line
    mov al, ' '
    call uart_putc
    movzx eax, byte [esi]
    call print_hex8
    inc esi
    dec edx
    jmp .bytes
.line:
    call uart_newline
    add edi, 16
    inc ecx
    cmp ecx, [count]
    jb .module
.exit:
    xor eax, eax
    jmp guest_exit

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    FLAT_GDT

MBI_FLAG_MODS   equ 1 << 3
MBI_MODS_COUNT  equ 20
MBI_MODS_ADDR   equ 24

msg_count:     db "modules: ", 0
msg_module:    db "module ", 0
msg_colon:     db ": ", 0
msg_bytes:     db " bytes, ", 0
msg_aligned:   db "page-aligned, '", 0
msg_unaligned: db "NOT page-aligned, '", 0
msg_first:     db "', first bytes", 0

    BSS_BEGIN
boot_info:  resd 1
count:      resd 1
    alignb 16
stack:      resb 4096
stack_top:
    BSS_END
