; output: kbc.elf
; kbc - the 8042 keyboard controller and its PS/2 keyboard, as a kernel meets them at
; boot (IBM PC/AT Technical Reference, keyboard controller commands; PS/2 keyboard
; commands): controller self-test and interface test, the command byte, the output
; port's A20 bit, and keyboard reset, echo, identify, scan-code set and LEDs.
; Expected output (verified on QEMU 7.2):
;   kbc: start
;   controller self-test 0x55: ok
;   keyboard interface test 0x00: ok
;   command byte reads back: ok
;   output port has A20 on: ok
;   keyboard reset: ACK: ok
;   keyboard reset: passed 0xAA: ok
;   echo 0xEE: ok
;   identify: ACK: ok
;   identify: 0xAB: ok
;   identify: 0x83 untranslated: ok
;   scan set query: ACK: ok
;   scan set query: ACK: ok
;   scan set query: set 2: ok
;   set LEDs: ACK: ok
;   set LEDs: ACK: ok
;   kbc: failed checks: 0
; Exit status: the number of failed checks.

%include "multiboot.inc"

    MULTIBOOT_ELF start
%include "check.inc"

SEL_KCODE   equ 0x08
SEL_KDATA   equ 0x10

start:
    cli
    LOAD_GDT gdtr, SEL_KCODE, SEL_KDATA
    mov esp, stack_top
    cld
    call uart_init
    mov esi, msg_start
    call uart_puts

    mov al, 0xAD                ; disable the keyboard while we set up
    call kbc_command
    call drain

    mov al, 0xAA
    call kbc_command
    call kbc_read
    CHECK "controller self-test 0x55", eax, 0x55
    mov al, 0xAB
    call kbc_command
    call kbc_read
    CHECK "keyboard interface test 0x00", eax, 0x00

    mov al, 0x60                ; write command byte: system flag only (no IRQ 1, no XLAT)
    call kbc_command
    mov al, 0x04
    call kbc_data
    mov al, 0x20
    call kbc_command
    call kbc_read
    CHECK "command byte reads back", eax, 0x04
    mov al, 0xD0                ; read output port
    call kbc_command
    call kbc_read
    and eax, 0x02
    CHECK "output port has A20 on", eax, 0x02

    mov al, 0xAE                ; enable the keyboard
    call kbc_command
    mov al, 0xFF                ; keyboard: reset
    call kbc_data
    call kbc_read
    CHECK "keyboard reset: ACK", eax, 0xFA
    call kbc_read
    CHECK "keyboard reset: passed 0xAA", eax, 0xAA
    mov al, 0xEE
    call kbc_data
    call kbc_read
    CHECK "echo 0xEE", eax, 0xEE
    mov al, 0xF2
    call kbc_data
    call kbc_read
    CHECK "identify: ACK", eax, 0xFA
    call kbc_read
    CHECK "identify: 0xAB", eax, 0xAB
    call kbc_read
    CHECK "identify: 0x83 untranslated", eax, 0x83
    mov al, 0xF0                ; scan-code set, argument 0: report it
    call kbc_data
    call kbc_read
    CHECK "scan set query: ACK", eax, 0xFA
    xor al, al
    call kbc_data
    call kbc_read
    CHECK "scan set query: ACK", eax, 0xFA
    call kbc_read
    CHECK "scan set query: set 2", eax, 0x02
    mov al, 0xED                ; LEDs, argument 0: all off
    call kbc_data
    call kbc_read
    CHECK "set LEDs: ACK", eax, 0xFA
    xor al, al
    call kbc_data
    call kbc_read
    CHECK "set LEDs: ACK", eax, 0xFA

    mov esi, msg_name
    jmp check_done

; kbc_command: AL -> port 0x64 once the input buffer is empty.
kbc_command:
    push eax
    call wait_input_empty
    pop eax
    out 0x64, al
    ret

; kbc_data: AL -> port 0x60 once the input buffer is empty.
kbc_data:
    push eax
    call wait_input_empty
    pop eax
    out 0x60, al
    ret

wait_input_empty:
    in al, 0x64
    test al, 0x02
    jnz wait_input_empty
    ret

; kbc_read: EAX = the next output byte, or 0xFFFFFFFF after a long wait.
kbc_read:
    push ecx
    mov ecx, 1000000
.poll:
    in al, 0x64
    test al, 0x01
    jnz .ready
    loop .poll
    pop ecx
    mov eax, -1
    ret
.ready:
    in al, 0x60
    movzx eax, al
    pop ecx
    ret

; drain: reads whatever the controller still holds.
drain:
    in al, 0x64
    test al, 0x01
    jz .done
    in al, 0x60
    jmp drain
.done:
    ret

%include "uart.inc"
%include "exit.inc"
%include "desc.inc"

    FLAT_GDT

msg_name:   db "kbc", 0
msg_start:  db "kbc: start", 10, 0

    BSS_BEGIN
    alignb 16
stack:          resb 4096
stack_top:
    BSS_END
