; output: cmos.elf
; cmos - the CMOS bytes a kernel reads at boot to size memory and check the RTC
; (IBM PC/AT CMOS map; Motorola MC146818A registers A, B and D), read through ports 0x70
; (index) and 0x71 (data): status A (divider and rate, UIP masked off), status B (BCD,
; 24-hour), status D (valid RAM), base memory in KiB (0x15-0x16), memory above 1 MiB in
; KiB (0x17-0x18, and again at 0x30-0x31) and above 16 MiB in 64 KiB units (0x34-0x35,
; QEMU's convention). With QEMU's and vmxlab's default 32 MiB: 640, 31744 and 256.
; The clock itself is not printed: QEMU's follows the host's time, vmxlab's virtual time.
; Expected output (verified on QEMU 7.2, -m 32):
;   cmos: status A 0x26, B 0x02, D 0x80
;   cmos: base memory 640 KiB
;   cmos: extended memory 31744 KiB (0x30: 31744 KiB)
;   cmos: above 16 MiB 256 x 64 KiB

%include "multiboot.inc"

    MULTIBOOT_ELF start

start:
    cli
    LOAD_GDT gdtr, 0x08, 0x10
    mov esp, stack_top
    call uart_init

    mov esi, msg_status
    call uart_puts
    mov bl, 0x0a
    call cmos_read
    and eax, 0x7f               ; UIP (bit 7) depends on when the read falls
    call print_byte
    mov esi, msg_b
    call uart_puts
    mov bl, 0x0b
    call cmos_read
    call print_byte
    mov esi, msg_d
    call uart_puts
    mov bl, 0x0d
    call cmos_read
    call print_byte
    call uart_newline

    mov esi, msg_base
    call uart_puts
    mov bl, 0x15
    call cmos_word
    call print_dec
    mov esi, msg_kib
    call uart_puts

    mov esi, msg_ext
    call uart_puts
    mov bl, 0x17
    call cmos_word
    call print_dec
    mov esi, msg_ext2
    call uart_puts
    mov bl, 0x30
    call cmos_word
    call print_dec
    mov esi, msg_kib_paren
    call uart_puts

    mov esi, msg_above
    call uart_puts
    mov bl, 0x34
    call cmos_word
    call print_dec
    mov esi, msg_units
    call uart_puts

    xor eax, eax
    jmp guest_exit

; cmos_read: BL = index -> EAX = the byte. Clobbers nothing else.
cmos_read:
    mov al, bl
    out 0x70, al
    in al, 0x71
    movzx eax, al
    ret

; cmos_word: BL = index of the low byte -> EAX = the 16-bit value (low byte first).
cmos_word:
    push ecx
    call cmos_read
    mov ecx, eax
    inc bl
    call cmos_read
    shl eax, 8
    or eax, ecx
    pop ecx
    ret

; print_byte: "0x" and AL as two hex digits.
print_byte:
    mov esi, msg_0x
    call uart_puts
    jmp print_hex8

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    FLAT_GDT

msg_status:    db "cmos: status A ", 0
msg_b:         db ", B ", 0
msg_d:         db ", D ", 0
msg_0x:        db "0x", 0
msg_base:      db "cmos: base memory ", 0
msg_kib:       db " KiB", 10, 0
msg_ext:       db "cmos: extended memory ", 0
msg_ext2:      db " KiB (0x30: ", 0
msg_kib_paren: db " KiB)", 10, 0
msg_above:     db "cmos: above 16 MiB ", 0
msg_units:     db " x 64 KiB", 10, 0

    BSS_BEGIN
    alignb 16
stack:      resb 4096
stack_top:
    BSS_END
